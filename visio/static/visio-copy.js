// "Copy" beside a read-only address: to the clipboard in one click, said aloud. Without the
// clipboard (an old browser, a page not served over HTTPS) the address is selected instead.
(function () {
  "use strict";

  document.querySelectorAll("[data-copy]").forEach(function (box) {
    var field = box.querySelector("input");
    var button = box.querySelector("[data-copy-button]");
    var state = box.querySelector("[data-copy-state]");
    if (!field || !button) {
      return;
    }
    function failed() {
      field.focus();
      field.select();
      state.textContent = button.getAttribute("data-text-failed");
    }
    button.addEventListener("click", function () {
      if (!navigator.clipboard || !window.isSecureContext) {
        failed();
        return;
      }
      navigator.clipboard.writeText(field.value).then(function () {
        state.textContent = button.getAttribute("data-text-copied");
      }, failed);
    });
    field.addEventListener("focus", function () {
      field.select();
    });
    button.hidden = false;
  });
})();
