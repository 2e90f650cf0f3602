// Seedbed Studio: a little vanilla JavaScript, no build step.
// - Pages whose <main> carries data-in-progress re-fetch themselves every few seconds and swap
//   in the new <main>, until nothing on them is in progress.
// - Forms with data-confirm ask before they submit.
(function () {
  "use strict";
  var POLL_MS = 2500;

  function poll() {
    var main = document.getElementById("main");
    if (!main || !main.hasAttribute("data-in-progress")) return;
    if (document.activeElement && main.contains(document.activeElement) &&
        /INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName)) {
      setTimeout(poll, POLL_MS);  // someone is typing: do not replace the form under them
      return;
    }
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Studio-Poll": "1" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("main");
          var current = document.getElementById("main");
          if (fresh && current) current.replaceWith(document.importNode(fresh, true));
        }
      })
      .catch(function () { /* the server may be restarting: try again */ })
      .then(function () { setTimeout(poll, POLL_MS); });
  }

  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { setTimeout(poll, POLL_MS); });
  } else {
    setTimeout(poll, POLL_MS);
  }
})();
