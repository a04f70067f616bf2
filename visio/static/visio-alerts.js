// The partner agent's arrival alerts: when the agenda's live statuses show a citizen
// arriving (visio-live.js sends "visio:arrival"), a browser notification and a short
// chime, if the agent turned them on here. The choice is kept in this browser only; the
// chime is made on the spot (no sound file), and browsers let it play only after the
// agent's own click on the button, which is also when notifications are asked for.
(function () {
  "use strict";

  var box = document.querySelector("[data-arrival-alerts]");
  if (!box || !window.localStorage) {
    return;
  }
  var KEY = "visio-arrival-alerts";
  var toggle = box.querySelector("[data-arrival-toggle]");
  var state = box.querySelector("[data-arrival-state]");
  var AudioContextClass = window.AudioContext || window.webkitAudioContext;
  var audio = null;

  function enabled() {
    return window.localStorage.getItem(KEY) === "on";
  }

  function notificationsBlocked() {
    return !("Notification" in window) || window.Notification.permission === "denied";
  }

  function show() {
    var on = enabled();
    toggle.setAttribute("aria-pressed", on ? "true" : "false");
    var text = box.getAttribute(on ? "data-text-on" : "data-text-off");
    if (on && notificationsBlocked()) {
      text += " " + box.getAttribute("data-text-blocked");
    }
    state.textContent = text;
  }

  function chime() {
    if (!AudioContextClass) {
      return;
    }
    if (!audio) {
      audio = new AudioContextClass();
    }
    if (audio.state === "suspended") {
      audio.resume();
    }
    // Two soft tones, a fourth apart, half a second in all.
    [[659.25, 0], [880, 0.22]].forEach(function (tone) {
      var oscillator = audio.createOscillator();
      var gain = audio.createGain();
      var at = audio.currentTime + tone[1];
      oscillator.type = "sine";
      oscillator.frequency.value = tone[0];
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.3, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.28);
      oscillator.connect(gain);
      gain.connect(audio.destination);
      oscillator.start(at);
      oscillator.stop(at + 0.3);
    });
    box.setAttribute("data-last-chime", String(Date.now()));
  }

  toggle.addEventListener("click", function () {
    var on = !enabled();
    window.localStorage.setItem(KEY, on ? "on" : "off");
    if (on) {
      if ("Notification" in window && window.Notification.permission === "default") {
        window.Notification.requestPermission().then(show, show);
      }
      chime(); // the agent hears what an arrival will sound like, and the browser allows it
    }
    show();
  });

  document.addEventListener("visio:arrival", function (event) {
    if (!enabled()) {
      return;
    }
    chime();
    if ("Notification" in window && window.Notification.permission === "granted") {
      var row = document.getElementById("appointment-" + event.detail.id);
      var title = row ? row.querySelector("h3") : null;
      new window.Notification(box.getAttribute("data-text-arrived"), {
        body: event.detail.text + (title ? " · " + title.textContent.trim() : ""),
        tag: "visio-arrival-" + event.detail.id,
      });
    }
  });

  box.hidden = false;
  show();
})();
