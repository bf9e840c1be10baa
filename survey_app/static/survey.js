// Small helps for the survey form; the form works the same without them.
(function () {
  "use strict";
  var form = document.getElementById("survey-form");
  if (!form) return;

  var comment = document.getElementById("comment");
  var count = document.getElementById("comment-count");
  if (comment && count) {
    var max = parseInt(count.getAttribute("data-max"), 10);
    var update = function () {
      var left = max - Array.from(comment.value.replace(/\r\n/g, "\n")).length;
      var template = count.getAttribute(left >= 0 ? "data-left" : "data-over");
      count.textContent = template.replace("{n}", String(Math.abs(left)));
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
