// The visio station's screen: count down to the meeting's opening, second by second, and
// reload the screen when what it shows changes (the meeting opens, the session ends, or,
// with nothing ahead, now and then for a booking made meanwhile). The server says when.
(function () {
  "use strict";

  var screen = document.querySelector("[data-station-screen]");
  if (!screen) {
    return;
  }
  var reloadIn = parseInt(screen.getAttribute("data-reload-in"), 10);
  if (reloadIn > 0) {
    window.setTimeout(function () {
      window.location.reload();
    }, reloadIn * 1000);
  }
  var clock = screen.querySelector(".countdown[data-seconds]");
  if (!clock) {
    return;
  }
  var left = parseInt(clock.getAttribute("data-seconds"), 10);
  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }
  window.setInterval(function () {
    left = Math.max(0, left - 1);
    clock.textContent = pad(Math.floor(left / 3600)) + ":" + pad(Math.floor(left / 60) % 60) + ":" + pad(left % 60);
  }, 1000);
})();
