// The citizen screen of a booking, a little quicker: the citizens known at the desk's houses
// appear as the desk types (from the third letter on the second, after a short pause),
// without leaving the page. The list is the server's own: the same page, asked again with
// the search, and its results part put in place; without this script the Search button
// does the same with a page load.
(function () {
  "use strict";

  var form = document.querySelector("form[data-citizen-search]");
  var results = document.getElementById("known-results");
  if (!form || !results || !window.fetch || !window.DOMParser) {
    return;
  }
  var input = form.querySelector("input[name=q]");
  var timer = null;
  var asked = 0;

  function search() {
    var text = input.value.trim();
    if (text.length < 2) {
      return;
    }
    var query = new URLSearchParams(new FormData(form)).toString();
    var url = form.getAttribute("action") + "?" + query;
    var mine = ++asked;
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        // Only the latest search's answer is shown, whatever order the answers come in.
        if (html === null || mine !== asked) {
          return;
        }
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("known-results");
        if (fresh) {
          results.innerHTML = fresh.innerHTML;
        }
      })
      .catch(function () {
        // The Search button still works; nothing to say over the desk's typing.
      });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 250);
  });
})();
