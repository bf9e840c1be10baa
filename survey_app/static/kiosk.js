// The kiosk tablet: a blank form for each person, answers kept in IndexedDB until sent.
// Each answer has its own id; the server stores an id once however often it is sent.
(function () {
  "use strict";
  var script = document.currentScript;
  var ANSWERS_URL = script.getAttribute("data-answers");
  var LANGUAGE = script.getAttribute("data-language");
  var THANKS_SECONDS = 8;
  // After q7 «Có» the thanks say where to lodge a formal complaint: time to note the number.
  var COMPLAINT_SECONDS = 30;
  var IDLE_SECONDS = 60;
  var stage = document.getElementById("kiosk-stage");
  var form = document.getElementById("kiosk-form");
  var thanks = document.getElementById("kiosk-thanks");
  var refused = document.getElementById("kiosk-refused");
  var complaint = document.getElementById("kiosk-complaint");
  var statusLine = document.getElementById("kiosk-status");
  if (!form || !stage) return;

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker
      .register(script.getAttribute("data-worker"), { scope: script.getAttribute("data-scope") })
      .catch(function () { /* the page works online without it */ });
  }

  // A pristine copy of the form, taken before anyone answers: each person gets a new one.
  form.reset();
  var blankStage = stage.cloneNode(true);
  var firstAnswerAt = null;
  var idleTimer = null;
  var thanksTimer = null;

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.from(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // The queue ------------------------------------------------------------------------------
  var dbPromise = new Promise(function (resolve, reject) {
    var request = indexedDB.open("kiosk", 1);
    request.onupgradeneeded = function () { request.result.createObjectStore("answers", { keyPath: "id" }); };
    request.onsuccess = function () { resolve(request.result); };
    request.onerror = function () { reject(request.error); };
  });

  function store(mode, work) {
    return dbPromise.then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction("answers", mode);
        var result = work(tx.objectStore("answers"));
        tx.oncomplete = function () { resolve(result && result.result); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }
  function enqueue(item) { return store("readwrite", function (s) { return s.put(item); }); }
  function dequeue(id) { return store("readwrite", function (s) { return s.delete(id); }); }
  function queued() { return store("readonly", function (s) { return s.getAll(); }); }

  function showStatus() {
    return queued().then(function (items) {
      var text = statusLine.getAttribute("data-waiting").replace("{n}", String(items.length));
      if (!navigator.onLine) text += " · " + statusLine.getAttribute("data-offline");
      statusLine.textContent = text;
    });
  }

  // Sending, with backoff ------------------------------------------------------------------
  var sending = false;
  var failures = 0;
  var retryTimer = null;

  function retryLater(seconds) {
    failures += 1;
    var backoff = seconds || Math.min(300, 2 * Math.pow(2, Math.min(failures, 8)));
    window.clearTimeout(retryTimer);
    retryTimer = window.setTimeout(flush, (backoff + Math.random() * 2) * 1000);
  }

  function refuse(message) {
    stage.hidden = true;
    thanks.hidden = true;
    stage.replaceChildren();
    document.getElementById("kiosk-refused-message").textContent = message;
    refused.hidden = false;
  }

  function send(item) {
    return fetch(ANSWERS_URL, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ id: item.id, answers: item.answers, seconds: item.seconds, language: item.language })
    }).then(function (response) {
      if (response.ok) return dequeue(item.id).then(function () { return "sent"; });
      return response.json().catch(function () { return {}; }).then(function (body) {
        var error = body.error || {};
        if (response.status === 401 || response.status === 403) { refuse(error.message || ""); return "refused"; }
        if (response.status === 400 || response.status === 413 || response.status === 422) {
          // The server can never take it: waiting would block the answers behind it.
          return dequeue(item.id).then(function () { return "dropped"; });
        }
        return { retry: parseInt(response.headers.get("Retry-After") || "0", 10) || null };
      });
    });
  }

  function flush() {
    if (sending) return Promise.resolve();
    sending = true;
    window.clearTimeout(retryTimer);
    return queued().then(function (items) {
      items.sort(function (a, b) { return a.queuedAt - b.queuedAt; });
      var next = function (i) {
        if (i >= items.length) { failures = 0; return null; }
        return send(items[i]).then(function (outcome) {
          if (outcome === "refused") return null;
          if (outcome && outcome.retry !== undefined) { retryLater(outcome.retry); return null; }
          return next(i + 1);
        });
      };
      return next(0);
    }).catch(function () { retryLater(); })
      .then(function () { sending = false; return showStatus(); });
  }

  // One person's form ----------------------------------------------------------------------
  function answersOf(f) {
    var answers = {};
    new FormData(f).forEach(function (value, key) {
      if (key === "answer_id") return;
      if (key in answers) answers[key] = [].concat(answers[key], value);
      else answers[key] = value;
    });
    f.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      if (box.checked && !Array.isArray(answers[box.name])) answers[box.name] = [answers[box.name]];
    });
    return answers;
  }

  function missing(f) {
    var keys = (f.getAttribute("data-required") || "").split(" ").filter(Boolean);
    return keys.filter(function (key) { return !f.querySelector("input[name='" + key + "']:checked"); });
  }

  function bind() {
    form = document.getElementById("kiosk-form");
    firstAnswerAt = null;
    form.addEventListener("change", function () {
      if (firstAnswerAt === null) firstAnswerAt = Date.now();
      armIdle();
    });
    form.addEventListener("input", armIdle);
    form.addEventListener("submit", onSubmit);
    var summary = document.getElementById("kiosk-errors");
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a");
      if (!link) return;
      event.preventDefault();  // no new history entry: Back never returns to a form
      var target = document.getElementById(link.getAttribute("href").slice(1));
      if (target) { target.scrollIntoView({ block: "center" }); target.focus(); }
    });
    var comment = document.getElementById("comment");
    var count = document.getElementById("comment-count");
    if (comment && count) {
      var max = parseInt(count.getAttribute("data-max"), 10);
      var update = function () {
        var left = max - Array.from(comment.value.replace(/\r\n/g, "\n")).length;
        count.textContent = count.getAttribute(left >= 0 ? "data-left" : "data-over").replace("{n}", Math.abs(left).toLocaleString(document.documentElement.lang || "vi"));
      };
      comment.addEventListener("input", update);
    }
  }

  function armIdle() {
    window.clearTimeout(idleTimer);
    idleTimer = window.setTimeout(blankForm, IDLE_SECONDS * 1000);
  }

  // Replace the form, its answers and its errors by the pristine copy: nothing of the last
  // person stays in the page, and the address carries nothing either.
  function blankForm() {
    window.clearTimeout(idleTimer);
    window.clearTimeout(thanksTimer);
    if (!refused.hidden) return;
    var fresh = blankStage.cloneNode(true);
    stage.replaceWith(fresh);
    stage = fresh;
    stage.hidden = false;
    thanks.hidden = true;
    if (complaint) complaint.hidden = true;
    history.replaceState(null, "", location.pathname + location.search);
    bind();
    window.scrollTo(0, 0);
  }

  function onSubmit(event) {
    event.preventDefault();
    var absent = missing(form);
    var summary = document.getElementById("kiosk-errors");
    if (absent.length) {
      summary.querySelectorAll("li").forEach(function (li) {
        li.hidden = absent.indexOf(li.getAttribute("data-key")) < 0;
      });
      form.querySelectorAll("fieldset.card").forEach(function (card) {
        var isMissing = absent.indexOf(card.id) >= 0;
        var message = document.getElementById(card.id + "-error");
        card.classList.toggle("card-error", isMissing);
        if (isMissing && !message) {
          // The message beside the question too, as on the phone form.
          message = document.createElement("p");
          message.className = "error-message";
          message.id = card.id + "-error";
          var prefix = document.createElement("span");
          prefix.className = "visually-hidden";
          prefix.textContent = form.getAttribute("data-error-prefix") + " ";
          message.append(prefix, form.getAttribute("data-missing"));
          card.querySelector("legend").after(message);
          card.setAttribute("aria-describedby", message.id);
        } else if (!isMissing && message) {
          message.remove();
          card.removeAttribute("aria-describedby");
        }
      });
      summary.hidden = false;
      summary.scrollIntoView();
      summary.focus();
      armIdle();
      return;
    }
    var item = {
      id: newId(),
      answers: answersOf(form),
      seconds: firstAnswerAt === null ? 0 : (Date.now() - firstAnswerAt) / 1000,
      language: LANGUAGE,
      queuedAt: Date.now()
    };
    var answeredYes = item.answers.q7 === "yes";
    enqueue(item).then(function () {
      // The answers are safe in the queue: clear them from the page before anything else.
      stage.replaceChildren();
      stage.hidden = true;
      if (complaint) complaint.hidden = !answeredYes;
      thanks.hidden = false;
      thanks.focus();
      window.clearTimeout(idleTimer);
      thanksTimer = window.setTimeout(blankForm,
        (answeredYes ? COMPLAINT_SECONDS : THANKS_SECONDS) * 1000);
      history.replaceState(null, "", location.pathname + location.search);
      return flush();
    });
  }

  document.getElementById("kiosk-next").addEventListener("click", blankForm);
  window.addEventListener("online", function () { failures = 0; flush(); });
  window.addEventListener("offline", showStatus);
  // A page restored from the back-forward cache would show what it held: start afresh.
  window.addEventListener("pageshow", function (event) { if (event.persisted) blankForm(); });
  bind();
  flush();
  window.setInterval(flush, 60 * 1000);
})();
