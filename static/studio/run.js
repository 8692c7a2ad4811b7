// The run page's own behaviour: pan, zoom and fit the graph (kept across live swaps), highlight
// a step everywhere it appears, load values from the blob store, keep followed logs at the
// bottom. Everything is wired from data attributes; the server draws all the markup.
(function () {
  "use strict";

  var MIN_SCALE = 0.1;
  var MAX_SCALE = 3;
  var views = {}; // run path -> {x, y, scale}: the graph's view survives pushed redraws

  function viewKey() {
    return window.location.pathname;
  }

  // --- graph: pan, zoom, fit -------------------------------------------------------------

  function setupGraph(container) {
    var svg = container.querySelector("[data-graph-svg]");
    if (!svg || svg.dataset.ready) {
      return;
    }
    svg.dataset.ready = "1";
    var width = parseFloat(svg.dataset.width);
    var height = parseFloat(svg.dataset.height);
    var view = views[viewKey()] || { x: 0, y: 0, scale: 1 };
    views[viewKey()] = view;

    function apply() {
      var w = svg.clientWidth || width;
      var h = svg.clientHeight || height;
      svg.setAttribute(
        "viewBox",
        [view.x, view.y, w / view.scale, h / view.scale].map(function (n) {
          return Math.round(n * 10) / 10;
        }).join(" ")
      );
    }

    function zoomAt(factor, clientX, clientY) {
      var rect = svg.getBoundingClientRect();
      var px = clientX === undefined ? rect.width / 2 : clientX - rect.left;
      var py = clientY === undefined ? rect.height / 2 : clientY - rect.top;
      var next = Math.min(MAX_SCALE, Math.max(MIN_SCALE, view.scale * factor));
      view.x += px / view.scale - px / next;
      view.y += py / view.scale - py / next;
      view.scale = next;
      apply();
    }

    function fit() {
      var w = svg.clientWidth || width;
      var h = svg.clientHeight || height;
      view.scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, Math.min(w / width, h / height, 1)));
      view.x = -(w / view.scale - width) / 2;
      view.y = -(h / view.scale - height) / 2;
      apply();
    }

    svg.addEventListener(
      "wheel",
      function (event) {
        event.preventDefault();
        zoomAt(event.deltaY < 0 ? 1.15 : 1 / 1.15, event.clientX, event.clientY);
      },
      { passive: false }
    );

    var drag = null;
    svg.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) return;
      drag = { x: event.clientX, y: event.clientY, moved: false, id: event.pointerId };
    });
    svg.addEventListener("pointermove", function (event) {
      if (!drag) return;
      var dx = event.clientX - drag.x;
      var dy = event.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      if (!drag.moved) {
        drag.moved = true;
        svg.setPointerCapture(drag.id);
        svg.classList.add("dragging");
      }
      view.x -= dx / view.scale;
      view.y -= dy / view.scale;
      drag.x = event.clientX;
      drag.y = event.clientY;
      apply();
    });
    function endDrag() {
      if (drag && drag.moved) {
        svg.classList.remove("dragging");
        // The click that ends a drag must not select the node under the pointer.
        svg.addEventListener(
          "click",
          function (event) {
            event.preventDefault();
            event.stopPropagation();
          },
          { capture: true, once: true }
        );
      }
      drag = null;
    }
    svg.addEventListener("pointerup", endDrag);
    svg.addEventListener("pointercancel", endDrag);

    container.querySelectorAll("[data-graph-zoom]").forEach(function (button) {
      button.addEventListener("click", function () {
        zoomAt(button.dataset.graphZoom === "in" ? 1.25 : 1 / 1.25);
      });
    });
    container.querySelectorAll("[data-graph-fit]").forEach(function (button) {
      button.addEventListener("click", fit);
    });
    apply();
  }

  // --- highlight a step wherever it is drawn ----------------------------------------------

  function highlight(step, on) {
    if (!step) return;
    var selector =
      '[data-step="' + CSS.escape(step) + '"], [data-from="' + CSS.escape(step) +
      '"], [data-to="' + CSS.escape(step) + '"]';
    document.querySelectorAll(selector).forEach(function (element) {
      element.classList.toggle("hl", on);
    });
  }

  function stepOf(target) {
    var element = target.closest && target.closest("[data-step]");
    return element && !element.matches(".step-panel") ? element.dataset.step : null;
  }

  document.addEventListener("mouseover", function (event) {
    highlight(stepOf(event.target), true);
  });
  document.addEventListener("mouseout", function (event) {
    highlight(stepOf(event.target), false);
  });

  // --- values kept in the blob store, loaded on demand --------------------------------------

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".v-load");
    if (!button) return;
    var holder = button.closest("[data-blob-loader]");
    button.disabled = true;
    button.textContent = "Loading…";
    fetch(button.dataset.blobUrl, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("the blob store answered " + response.status);
        return response.text();
      })
      .then(function (text) {
        var form = new FormData();
        form.append("data", text);
        form.append("refs", button.dataset.refs || "[]");
        form.append("plain", button.dataset.plain || "");
        return fetch(button.dataset.renderUrl, {
          method: "POST",
          body: form,
          credentials: "same-origin",
          headers: { "X-CSRFToken": document.body.dataset.csrfToken || "" },
        });
      })
      .then(function (response) {
        if (!response.ok) throw new Error("the server answered " + response.status);
        return response.text();
      })
      .then(function (html) {
        // The value renderer's output: every piece of the value is escaped by the server.
        var template = document.createElement("template");
        template.innerHTML = html;
        holder.replaceWith(template.content);
      })
      .catch(function (error) {
        button.disabled = false;
        button.textContent = "Could not load: " + error.message;
      });
  });

  // --- the group picker --------------------------------------------------------------------

  document.addEventListener("click", function (event) {
    var close = event.target.closest && event.target.closest("[data-close-picker]");
    var picker = document.getElementById("group-picker");
    if (close && picker && picker.contains(close)) {
      event.preventDefault();
      picker.innerHTML = "";
    }
  });

  // --- followed logs stay at their end; others where the reader left them -------------------

  var logScroll = null;

  document.addEventListener("htmx:wsBeforeMessage", function () {
    var list = document.querySelector("#log-list .log-lines");
    logScroll = list ? list.scrollTop : null;
  });

  function followLogs() {
    var list = document.querySelector("#log-list .log-lines");
    if (!list) return;
    if (list.closest("[data-follow]")) {
      list.scrollTop = list.scrollHeight;
    } else if (logScroll !== null) {
      list.scrollTop = logScroll;
    }
    logScroll = null;
  }

  function setup() {
    document.querySelectorAll("[data-graph]").forEach(setupGraph);
    followLogs();
  }

  document.addEventListener("DOMContentLoaded", setup);
  document.addEventListener("htmx:afterSettle", setup);
  document.addEventListener("htmx:wsAfterMessage", function () {
    // How many pushes the page has taken in (the first follows connecting), for anyone who
    // needs to know the page is up to date.
    var root = document.documentElement;
    root.dataset.livePushes = String(Number(root.dataset.livePushes || 0) + 1);
    setup();
  });
})();
