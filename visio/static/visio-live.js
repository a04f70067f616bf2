// Live statuses of the desk and agenda pages: ask the page's JSON companion every few
// seconds (with the session cookie) and write what changed into the rows, without a reload.
// Texts arrive translated from the server; the rows' status cells are polite live regions,
// so a screen reader hears "Citizen arrived at 10:02" when it appears, and nothing else.
(function () {
  "use strict";

  var root = document.querySelector("[data-live-url]");
  if (!root || !window.fetch) {
    return;
  }
  var url = root.getAttribute("data-live-url");
  var interval = parseInt(root.getAttribute("data-live-interval"), 10) || 5000;
  var problem = root.querySelector("[data-live-problem]");
  var stopped = false;

  var said = "";

  // Say a problem once: repeating the same words every few seconds would only be noise.
  function say(text, withReload) {
    if (!problem || said === text) {
      return;
    }
    said = text;
    problem.textContent = text;
    if (withReload) {
      var link = document.createElement("a");
      link.href = window.location.pathname;
      link.textContent = root.getAttribute("data-text-reload");
      problem.appendChild(document.createTextNode(" "));
      problem.appendChild(link);
    }
  }

  // Set an element's text (and show it) or hide it when the text is empty; touch the DOM
  // only on a change, so that live regions speak only of what is new.
  function place(element, text) {
    var shown = text !== "" && text !== null && text !== false;
    if (shown && typeof text === "string" && element.textContent !== text) {
      element.textContent = text;
    }
    if (element.hidden === shown) {
      element.hidden = !shown;
    }
  }

  function update(appointments) {
    var seen = {};
    var changedList = false;
    appointments.forEach(function (appointment) {
      var row = root.querySelector('[data-appointment-id="' + appointment.id + '"]');
      seen[String(appointment.id)] = true;
      if (!row) {
        changedList = true;
        return;
      }
      if (row.getAttribute("data-status") !== appointment.status) {
        row.setAttribute("data-status", appointment.status);
      }
      row.querySelectorAll("[data-field]").forEach(function (element) {
        var name = element.getAttribute("data-field");
        if (!(name in appointment)) {
          return;
        }
        var arriving = name === "arrival" && element.hidden && appointment.arrival;
        place(element, appointment[name]);
        if (arriving) {
          // Heard by the agenda's alerts (visio-alerts.js), when the agent turned them on.
          document.dispatchEvent(new CustomEvent("visio:arrival", {
            detail: { id: appointment.id, text: appointment.arrival },
          }));
        }
        if (name === "agent" && element.getAttribute("data-presence") !== appointment.agent_presence) {
          element.setAttribute("data-presence", appointment.agent_presence);
        }
      });
    });
    root.querySelectorAll("[data-appointment-id]").forEach(function (row) {
      if (!seen[row.getAttribute("data-appointment-id")]) {
        changedList = true;
      }
    });
    if (changedList) {
      say(root.getAttribute("data-text-changed"), true);
    } else if (problem && said !== "") {
      said = "";
      problem.textContent = "";
    }
  }

  function poll() {
    if (stopped) {
      return;
    }
    fetch(url, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (response.redirected || response.status === 401 || response.status === 403 ||
            type.indexOf("application/json") === -1) {
          // Signed out (the server sent the sign-in page): asking again will not help.
          stopped = true;
          say(root.getAttribute("data-text-signed-out"), true);
          return null;
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (document) {
        if (document) {
          update(document.appointments || []);
        }
      })
      .catch(function () {
        say(root.getAttribute("data-text-failed"), false);
      })
      .then(function () {
        if (!stopped) {
          window.setTimeout(poll, interval);
        }
      });
  }

  window.setTimeout(poll, interval);
})();
