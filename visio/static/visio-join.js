// The join page: a countdown until the join window opens (then the page reloads, and the
// server hands out the link), and, once open, the meeting embedded with Jitsi's IFrame API.
// If the Jitsi script cannot load (offline, blocked), the direct link stays with a message.
(function () {
  "use strict";

  // How long the Jitsi script may take before the page says to use the direct link.
  var SCRIPT_TIMEOUT_MS = 15000;

  function pad(number) {
    return (number < 10 ? "0" : "") + number;
  }

  function startCountdown(box) {
    var value = box.querySelector("[data-countdown-value]");
    var seconds = parseInt(box.getAttribute("data-seconds"), 10) || 0;
    // Counted on this browser's monotonic clock from the server's figure: the computer's
    // own date may be wrong, the server's is the one the window follows.
    var deadline = performance.now() + seconds * 1000;

    function tick() {
      var left = Math.max(0, Math.ceil((deadline - performance.now()) / 1000));
      var text = pad(Math.floor(left / 3600)) + ":" + pad(Math.floor((left % 3600) / 60)) +
        ":" + pad(left % 60);
      if (value && value.textContent !== text) {
        value.textContent = text;
      }
      if (left <= 0) {
        // A moment's margin so the server, too, sees the window open.
        window.setTimeout(function () { window.location.reload(); }, 1000);
        return;
      }
      window.setTimeout(tick, 250);
    }
    tick();
  }

  function embed(container) {
    var domain = container.getAttribute("data-domain");
    var status = document.querySelector("[data-meeting-status]");
    var settled = false;

    function report(key) {
      if (status) {
        status.textContent = status.getAttribute(key) || "";
      }
    }

    function fail() {
      if (settled) {
        return;
      }
      settled = true;
      container.hidden = true;
      container.setAttribute("data-meeting-state", "failed");
      report("data-text-failed");
    }

    function start() {
      if (settled) {
        return;
      }
      if (typeof window.JitsiMeetExternalAPI !== "function") {
        fail();
        return;
      }
      settled = true;
      var options = {
        roomName: container.getAttribute("data-room"),
        parentNode: container,
        width: "100%",
        height: "100%",
        userInfo: { displayName: container.getAttribute("data-display-name") },
      };
      var jwt = container.getAttribute("data-jwt");
      if (jwt) {
        options.jwt = jwt;
      }
      try {
        new window.JitsiMeetExternalAPI(domain, options);
        container.setAttribute("data-meeting-state", "embedded");
        if (status) {
          status.textContent = "";
        }
      } catch (error) {
        settled = false;
        fail();
      }
    }

    report("data-text-loading");
    container.setAttribute("data-meeting-state", "loading");
    var script = document.createElement("script");
    script.src = "https://" + domain + "/external_api.js";
    script.async = true;
    script.onload = start;
    script.onerror = fail;
    window.setTimeout(fail, SCRIPT_TIMEOUT_MS);
    document.head.appendChild(script);
  }

  var box = document.querySelector("[data-countdown]");
  if (box) {
    startCountdown(box);
  }
  var container = document.querySelector("[data-meeting]");
  if (container) {
    embed(container);
  }
})();
