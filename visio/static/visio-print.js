// "Print" on the yearly report: the browser's print dialog. The button stays hidden
// without this script, as it would do nothing.
(function () {
  "use strict";

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () {
      window.print();
    });
    button.hidden = false;
  });
})();
