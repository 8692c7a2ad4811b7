// Studio's behaviour on every page. No inline scripts exist (the Content-Security-Policy forbids
// them): everything a page needs is wired here from data attributes.
(function () {
  "use strict";

  var THEMES = ["auto", "light", "dark"];
  var PAUSED_KEY = "coflux-live-paused";

  function storage(kind) {
    try {
      return window[kind];
    } catch (e) {
      return null;
    }
  }

  // CSRF: htmx requests carry the token the page was rendered with. A form marked
  // data-drop-empty leaves its empty fields out of the URL (filters not set are not sent).
  document.addEventListener("htmx:configRequest", function (event) {
    var token = document.body.dataset.csrfToken;
    if (token) {
      event.detail.headers["X-CSRFToken"] = token;
    }
    var elt = event.detail.elt;
    if (event.detail.verb === "get" && elt.closest && elt.closest("[data-drop-empty]")) {
      var data = event.detail.formData;
      Array.from(new Set(data.keys())).forEach(function (key) {
        if (data.getAll(key).every(function (value) { return value === ""; })) {
          data.delete(key);
        }
      });
    }
  });

  // Forms that change something ask first: <form data-confirm="Really?">.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var message = form.dataset ? form.dataset.confirm : null;
      if (message && !window.confirm(message)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  // Theme: auto (the system's) → light → dark, remembered.
  function currentTheme() {
    return document.documentElement.dataset.theme || "auto";
  }

  function showTheme(button) {
    button.textContent = "Theme: " + currentTheme();
  }

  function setupTheme() {
    var button = document.getElementById("theme-toggle");
    if (!button) {
      return;
    }
    showTheme(button);
    button.addEventListener("click", function () {
      var next = THEMES[(THEMES.indexOf(currentTheme()) + 1) % THEMES.length];
      var local = storage("localStorage");
      if (next === "auto") {
        delete document.documentElement.dataset.theme;
        if (local) local.removeItem("coflux-theme");
      } else {
        document.documentElement.dataset.theme = next;
        if (local) local.setItem("coflux-theme", next);
      }
      showTheme(button);
    });
  }

  // Live: pushed partials swap in unless the user paused them; resuming reloads the page, since
  // what was pushed meanwhile was dropped.
  function livePaused() {
    var session = storage("sessionStorage");
    return !!(session && session.getItem(PAUSED_KEY) === "1");
  }

  function showLive(button) {
    var paused = livePaused();
    button.setAttribute("aria-pressed", paused ? "true" : "false");
    button.textContent = paused ? "Live paused" : "Live";
    button.classList.toggle("paused", paused);
  }

  function setupLive() {
    var button = document.getElementById("live-toggle");
    if (!button) {
      return;
    }
    showLive(button);
    button.addEventListener("click", function () {
      var session = storage("sessionStorage");
      var paused = !livePaused();
      if (session) session.setItem(PAUSED_KEY, paused ? "1" : "0");
      showLive(button);
      if (!paused) {
        window.location.reload();
      }
    });
    document.addEventListener("htmx:wsBeforeMessage", function (event) {
      if (livePaused()) {
        event.preventDefault();
      }
    });
    document.addEventListener("htmx:wsOpen", function () {
      button.classList.add("connected");
    });
    document.addEventListener("htmx:wsClose", function () {
      button.classList.remove("connected");
    });
  }

  // Go to… (Ctrl-K): a dialog searching modules, targets and run IDs.
  function setupGoto() {
    var dialog = document.getElementById("goto");
    if (!dialog) {
      return;
    }
    var input = dialog.querySelector("input[name=q]");
    function open() {
      if (!dialog.open) {
        dialog.showModal();
      }
      input.select();
      htmx.trigger(input, "search");
    }
    document.querySelectorAll("[data-goto-open]").forEach(function (button) {
      button.addEventListener("click", open);
    });
    document.addEventListener("keydown", function (event) {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k") {
        event.preventDefault();
        open();
      }
    });
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) {
        dialog.close();
      }
    });
    dialog.addEventListener("keydown", function (event) {
      var links = Array.prototype.slice.call(dialog.querySelectorAll("#goto-results a"));
      var index = links.indexOf(document.activeElement);
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!links.length) return;
        var step = event.key === "ArrowDown" ? 1 : -1;
        var next = index === -1 ? (step > 0 ? 0 : links.length - 1) : index + step;
        if (next < 0) {
          input.focus();
        } else {
          links[Math.min(next, links.length - 1)].focus();
        }
      } else if (event.key === "Enter" && document.activeElement === input) {
        event.preventDefault();
        if (links.length) {
          window.location.assign(links[0].href);
        }
      }
    });
  }

  // Close an open menu (<details class="menu">) when clicking elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) {
        menu.open = false;
      }
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    setupTheme();
    setupLive();
    setupGoto();
  });
})();
