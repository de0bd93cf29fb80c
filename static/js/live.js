/* financedash: live figures on the portfolio page (issue 12).
 *
 * The holdings region ([data-socket]) opens the portfolio's WebSocket with the session
 * cookie. While it is open the region's 30 s polling is held back and each "portfolio"
 * message re-fetches the same server-rendered partial the polling uses (so the page
 * without JavaScript, and the polling fallback, render exactly the same thing). When the
 * socket cannot connect or drops, polling resumes and the refresh line says so; the socket
 * is retried with exponential backoff. A price that changed flashes briefly.
 * No inline script: a Content-Security-Policy without 'unsafe-inline' can allow this file. */
(function () {
  "use strict";

  // Django's JavaScript catalogue (/jsi18n/) in the page's language; English if absent.
  var gettext = window.gettext || function (text) { return text; };
  var interpolate = window.interpolate || function (text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, name) { return values[name]; });
  };

  var REGION = "holdings";
  var state = "connecting"; // "live" or "polling" once known
  var socket = null;
  var attempts = 0;
  var retryTimer = null;
  var watchdog = null;
  var stopped = false;
  var connectedBefore = false;
  var prices = {};

  function region() {
    return document.getElementById(REGION);
  }

  // --- The refresh line ------------------------------------------------------------------
  function showState() {
    var elt = region();
    if (!elt) return;
    var status = elt.querySelector("[data-live-status]");
    var label = elt.querySelector("[data-live-label]");
    if (!status || !label) return;
    var seconds = elt.getAttribute("data-refresh-seconds") || "30";
    status.classList.toggle("is-live", state === "live");
    status.classList.toggle("is-polling", state === "polling");
    if (state === "live") {
      label.textContent = gettext("Live: prices and figures are pushed as they change");
    } else if (state === "polling") {
      label.textContent = interpolate(
        gettext("Live updates unavailable: refreshing every %(seconds)s s"), {seconds: seconds}, true
      );
    }
  }

  function setState(next) {
    state = next;
    showState();
  }

  // --- Price flashes -----------------------------------------------------------------------
  function readPrices() {
    var found = {};
    var elt = region();
    if (!elt) return found;
    elt.querySelectorAll("[data-price]").forEach(function (cell) {
      found[cell.getAttribute("data-symbol")] = cell.getAttribute("data-price");
    });
    return found;
  }

  function flashChanges() {
    var elt = region();
    if (!elt) return;
    elt.querySelectorAll("[data-price]").forEach(function (cell) {
      var before = prices[cell.getAttribute("data-symbol")];
      var now = cell.getAttribute("data-price");
      if (before === undefined || before === now) return;
      var up = parseFloat(now) > parseFloat(before);
      var cls = up ? "flash-up" : "flash-down";
      var td = cell.closest("td") || cell;
      td.classList.remove("flash-up", "flash-down");
      void td.offsetWidth; // restart the animation when it changes again quickly
      td.classList.add(cls);
      window.setTimeout(function () { td.classList.remove(cls); }, 1600);
    });
    prices = readPrices();
  }

  document.addEventListener("htmx:beforeSwap", function (evt) {
    if (evt.detail.target && evt.detail.target.id === REGION) prices = readPrices();
  });
  document.addEventListener("htmx:afterSettle", function (evt) {
    var elt = region();
    if (!elt || !elt.hasAttribute("data-socket")) return;
    if (evt.detail.elt === elt || (evt.detail.target && evt.detail.target.id === REGION)) {
      showState();
      flashChanges();
    }
  });

  // --- Polling only as the fallback -----------------------------------------------------------
  document.addEventListener("htmx:confirm", function (evt) {
    // A poll ("every 30s") has no triggering event; pushes and tab returns do.
    if (state === "live" && evt.target.id === REGION && !evt.detail.triggeringEvent) {
      evt.preventDefault();
    }
  });

  function refresh() {
    var elt = region();
    if (elt) htmx.trigger(elt, "live-refresh");
  }

  // --- The socket ---------------------------------------------------------------------------
  function socketUrl(path) {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + window.location.host + path;
  }

  function armWatchdog(elt) {
    // No message (not even the keepalive ping) for 2.5 intervals: the connection is dead
    // even if the browser has not noticed.
    window.clearTimeout(watchdog);
    var ping = parseFloat(elt.getAttribute("data-ping-seconds") || "30");
    watchdog = window.setTimeout(function () {
      if (socket) socket.close();
    }, ping * 2500);
  }

  function scheduleRetry() {
    if (stopped) return;
    // 1 s, 2 s, 4 s ... up to a minute, with jitter so that many pages do not return at once.
    var delay = Math.min(60000, 1000 * Math.pow(2, attempts)) * (0.75 + Math.random() * 0.5);
    attempts += 1;
    window.clearTimeout(retryTimer);
    retryTimer = window.setTimeout(connect, delay);
  }

  function connect() {
    var elt = region();
    if (!elt || stopped || !("WebSocket" in window)) {
      setState("polling");
      return;
    }
    try {
      socket = new WebSocket(socketUrl(elt.getAttribute("data-socket")));
    } catch (err) {
      setState("polling");
      scheduleRetry();
      return;
    }
    socket.addEventListener("message", function (evt) {
      var message;
      try {
        message = JSON.parse(evt.data);
      } catch (err) {
        return;
      }
      var current = region();
      if (current) armWatchdog(current);
      if (message.type === "snapshot") {
        attempts = 0;
        setState("live");
        // After a drop, catch up with what changed meanwhile.
        if (connectedBefore) refresh();
        connectedBefore = true;
      } else if (message.type === "portfolio") {
        refresh();
      }
    });
    socket.addEventListener("close", function (evt) {
      window.clearTimeout(watchdog);
      socket = null;
      setState("polling");
      // 4401: the session ended (polling will lead to the login page); 4404: the
      // portfolio is gone. Retrying would not help either.
      if (evt.code === 4401 || evt.code === 4404) {
        stopped = true;
        return;
      }
      scheduleRetry();
    });
  }

  function start() {
    var elt = region();
    if (!elt || !elt.hasAttribute("data-socket")) return;
    prices = readPrices();
    connect();
  }

  window.addEventListener("pagehide", function () {
    stopped = true;
    window.clearTimeout(retryTimer);
    if (socket) socket.close();
  });
  // Back to a page kept in the back/forward cache: connect again.
  window.addEventListener("pageshow", function (evt) {
    if (!evt.persisted) return;
    stopped = false;
    attempts = 0;
    start();
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
