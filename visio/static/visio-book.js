// The citizen screen of a booking, a little quicker: the citizens known at the desk's houses
// appear as the desk types (from the third letter on the second, after a short pause),
// without leaving the page, and the one picked brings the summary in place. The list and
// the summary are the server's own pages, asked for and their parts put in place; without
// this script the Search and Continue buttons do the same with a page load each.
(function () {
  "use strict";

  // The screen shown is the one the address names; when Back or Forward moves to an
  // address within this page (the summary put in place, and the screen before it), or the
  // browser restores this page from its cache, the server shows that address's screen.
  var shown = window.location.pathname + window.location.search;
  function current() {
    return window.location.pathname + window.location.search;
  }
  window.addEventListener("popstate", function () {
    if (current() !== shown) {
      window.location.reload();
    }
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && current() !== shown) {
      window.location.reload();
    }
  });

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

  // A citizen picked among those found: the summary comes in place of this screen, without
  // a page load (the same page the form would open, its main part put here, its address
  // in the history so that Back and a reload still work). Anything unexpected: the form
  // goes as usual.
  results.addEventListener("submit", function (event) {
    var picked = event.target;
    if (!window.history || !window.history.pushState) {
      return;
    }
    event.preventDefault();
    var url = picked.getAttribute("action") + "?" +
      new URLSearchParams(new FormData(picked)).toString();
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        var page = html === null ? null : new DOMParser().parseFromString(html, "text/html");
        var main = page ? page.querySelector("main") : null;
        var here = document.querySelector("main");
        if (!main || !here) {
          picked.submit();
          return;
        }
        here.innerHTML = main.innerHTML;
        document.title = page.title;
        window.history.pushState({ visioScreen: "summary" }, "", url);
        shown = current();
        // Screen readers and keyboards start at the new screen's heading.
        var heading = here.querySelector("h2") || here.querySelector("h1");
        if (heading) {
          heading.setAttribute("tabindex", "-1");
          heading.focus();
        }
      })
      .catch(function () {
        picked.submit();
      });
  });
})();
