// The visio station's screen: count down to the meeting's opening, second by second, and
// reload the screen when what it shows changes (the meeting opens, the session ends, or,
// with nothing ahead, now and then for a booking made meanwhile). The server says when.
//
// Once the meeting is open, the join button brings it into this screen with Jitsi's IFrame
// API, filling the screen (full screen where the browser allows it); leaving the meeting
// goes back to the waiting screen. If Jitsi's script cannot load (offline, blocked), the
// button stays what it is without this script: a link opening the meeting in a new tab.
(function () {
  "use strict";

  // How long Jitsi's script may take before the screen says to use the link instead.
  var SCRIPT_TIMEOUT_MS = 15000;
  // After asking Jitsi to hang up, how long to wait for it to say so before going back.
  var HANGUP_WAIT_MS = 2000;

  var screen = document.querySelector("[data-station-screen]");
  if (!screen) {
    return;
  }

  function backToWaiting() {
    window.location.reload();
  }

  // In a meeting that runs past its end, the screen waits for the station to hang up (or
  // the agent to end it), and goes back only when the meeting's link closes.
  var inMeeting = false;
  var reloadIn = parseInt(screen.getAttribute("data-reload-in"), 10);
  var closesIn = parseInt(screen.getAttribute("data-closes-in"), 10);
  if (reloadIn > 0) {
    window.setTimeout(function () {
      if (inMeeting && closesIn > reloadIn) {
        window.setTimeout(backToWaiting, (closesIn - reloadIn) * 1000);
        return;
      }
      backToWaiting();
    }, reloadIn * 1000);
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function startCountdown(clock) {
    var left = parseInt(clock.getAttribute("data-seconds"), 10);
    window.setInterval(function () {
      left = Math.max(0, left - 1);
      clock.textContent = pad(Math.floor(left / 3600)) + ":" + pad(Math.floor(left / 60) % 60) +
        ":" + pad(left % 60);
    }, 1000);
  }

  // The Fullscreen API, standard or prefixed (Safari on iPad); null when there is none.
  function fullscreenApi(element) {
    if (document.fullscreenEnabled && element.requestFullscreen) {
      return {
        enter: function () { return element.requestFullscreen(); },
        leave: function () { return document.exitFullscreen(); },
        active: function () { return document.fullscreenElement === element; },
        change: "fullscreenchange",
      };
    }
    if (document.webkitFullscreenEnabled && element.webkitRequestFullscreen) {
      return {
        enter: function () { return element.webkitRequestFullscreen(); },
        leave: function () { return document.webkitExitFullscreen(); },
        active: function () { return document.webkitFullscreenElement === element; },
        change: "webkitfullscreenchange",
      };
    }
    return null;
  }

  // A refused full screen is no failure: the meeting already fills the window.
  function quietly(result) {
    if (result && typeof result.catch === "function") {
      result.catch(function () {});
    }
  }

  function meetingScreen(link, wrapper, container) {
    var status = screen.querySelector("[data-meeting-status]");
    var toggle = wrapper.querySelector("[data-fullscreen]");
    var leave = wrapper.querySelector("[data-leave]");
    var heading = wrapper.querySelector("h2");
    var newTab = link.querySelector("[data-new-tab]");
    var fullscreen = fullscreenApi(wrapper);
    var state = "loading";
    var api = null;

    function setState(value, textKey) {
      state = value;
      container.setAttribute("data-meeting-state", value);
      if (status) {
        status.textContent = textKey ? status.getAttribute(textKey) || "" : "";
      }
    }

    function fail() {
      // Only while the script loads or the meeting is being embedded: the timeout of a
      // script that has loaded meanwhile changes nothing.
      if (state !== "loading" && state !== "joining") {
        return;
      }
      // The link keeps its new tab; the screen says why.
      setState("failed", "data-text-failed");
      if (newTab) {
        newTab.hidden = false;
      }
    }

    function ready() {
      if (state !== "loading") {
        return;
      }
      if (typeof window.JitsiMeetExternalAPI !== "function") {
        fail();
        return;
      }
      setState("ready", "");
      // The button now opens the meeting here: no new tab to announce.
      if (newTab) {
        newTab.hidden = true;
      }
    }

    function showToggle() {
      if (!fullscreen || !toggle) {
        return;
      }
      toggle.textContent = toggle.getAttribute(
        fullscreen.active() ? "data-text-leave" : "data-text-enter"
      );
    }

    function join(event) {
      if (state !== "ready") {
        return; // loading or failed: the link opens the meeting in a new tab
      }
      event.preventDefault();
      var options = {
        roomName: container.getAttribute("data-room"),
        parentNode: container,
        width: "100%",
        height: "100%",
        lang: document.documentElement.lang,
        userInfo: { displayName: container.getAttribute("data-display-name") },
      };
      var jwt = container.getAttribute("data-jwt");
      if (jwt) {
        options.jwt = jwt;
      }
      state = "joining";
      try {
        api = new window.JitsiMeetExternalAPI(container.getAttribute("data-domain"), options);
      } catch (error) {
        fail();
        return;
      }
      setState("embedded", "");
      inMeeting = true;
      // The meeting fills the window; the rest of the screen is out of the way.
      document.documentElement.classList.add("station-in-visio");
      wrapper.hidden = false;
      if (heading) {
        heading.focus();
      }
      if (typeof api.addListener === "function") {
        // The station hung up, or the agent ended the meeting: back to the waiting screen.
        api.addListener("readyToClose", backToWaiting);
        api.addListener("videoConferenceLeft", backToWaiting);
      }
      // Full screen needs a touch or a click: this one.
      if (fullscreen) {
        quietly(fullscreen.enter());
      }
    }

    if (fullscreen && toggle) {
      toggle.hidden = false;
      toggle.addEventListener("click", function () {
        quietly(fullscreen.active() ? fullscreen.leave() : fullscreen.enter());
      });
      document.addEventListener(fullscreen.change, showToggle);
      showToggle();
    }
    if (leave) {
      leave.addEventListener("click", function () {
        if (api && typeof api.executeCommand === "function") {
          // Jitsi says goodbye to the others, then tells us (readyToClose).
          try {
            api.executeCommand("hangup");
          } catch (error) {
            backToWaiting();
            return;
          }
          window.setTimeout(backToWaiting, HANGUP_WAIT_MS);
        } else {
          backToWaiting();
        }
      });
    }
    link.addEventListener("click", join);

    setState("loading", "data-text-loading");
    var script = document.createElement("script");
    script.src = "https://" + container.getAttribute("data-domain") + "/external_api.js";
    script.async = true;
    script.onload = ready;
    script.onerror = fail;
    window.setTimeout(fail, SCRIPT_TIMEOUT_MS);
    document.head.appendChild(script);
  }

  var clock = screen.querySelector(".countdown[data-seconds]");
  if (clock) {
    startCountdown(clock);
  }
  var link = screen.querySelector("[data-join-link]");
  var wrapper = screen.querySelector("[data-station-meeting]");
  var container = screen.querySelector("[data-meeting]");
  if (link && wrapper && container) {
    meetingScreen(link, wrapper, container);
  }
})();
