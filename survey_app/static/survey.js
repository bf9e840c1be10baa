// Small helps for the survey form; the form works the same without them.
(function () {
  "use strict";
  // «Nghe»: the device's Vietnamese voice reads the question and its answers; without one,
  // the question's clip is fetched at the tap (never before) and played. The whole form's
  // button reads every question in order. The buttons stay hidden without this script.
  var listen = Array.prototype.slice.call(document.querySelectorAll("[data-listen]"));
  if (listen.length) {
    var synth = window.speechSynthesis, player = null;
    var vietnamese = function () {
      if (!synth || !window.SpeechSynthesisUtterance) return null;
      var voices = synth.getVoices() || [];
      for (var i = 0; i < voices.length; i++) {
        if (/^vi([-_]|$)/i.test(voices[i].lang || "")) return voices[i];
      }
      return null;
    };
    if (synth) synth.getVoices(); // some browsers load their voices on the first ask
    var stop = function () {
      if (synth) synth.cancel();
      if (player) { player.onended = null; player.pause(); player = null; }
    };
    var read = function (buttons) {
      stop();
      var voice = vietnamese();
      if (voice) {
        buttons.forEach(function (b) {
          var said = new window.SpeechSynthesisUtterance(b.getAttribute("data-text"));
          said.voice = voice;
          said.lang = voice.lang;
          synth.speak(said);
        });
        return;
      }
      var i = 0;
      var next = function () {
        if (i >= buttons.length) { player = null; return; }
        player = new window.Audio(buttons[i++].getAttribute("data-clip"));
        player.onended = next;
        var playing = player.play();
        if (playing && playing.catch) playing.catch(function () {});
      };
      next();
    };
    listen.forEach(function (b) {
      b.addEventListener("click", function () { read([b]); });
      b.hidden = false;
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-listen-all]"), function (b) {
      b.addEventListener("click", function () { read(listen); });
      b.hidden = false;
    });
  }

  var form = document.getElementById("survey-form");
  if (!form) return;

  var comment = document.getElementById("comment");
  var count = document.getElementById("comment-count");
  if (comment && count) {
    var max = parseInt(count.getAttribute("data-max"), 10);
    var update = function () {
      var left = max - Array.from(comment.value.replace(/\r\n/g, "\n")).length;
      var template = count.getAttribute(left >= 0 ? "data-left" : "data-over");
      count.textContent = template.replace("{n}", Math.abs(left).toLocaleString(document.documentElement.lang || "vi"));
      count.classList.toggle("error-message", left < 0);
    };
    comment.addEventListener("input", update);
    update();
  }

  // One tap sends once; the server ignores a repeat anyway, this only saves the wait.
  var button = form.querySelector("button[type=submit]");
  var label = button ? button.textContent : "";
  form.addEventListener("submit", function () {
    if (!button) return;
    window.setTimeout(function () {
      button.disabled = true;
      button.textContent = button.getAttribute("data-sending");
    }, 0);
  });
  window.addEventListener("pageshow", function () {
    if (!button) return;
    button.disabled = false;
    button.textContent = label;
  });

  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
