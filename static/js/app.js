/* financedash: the little behaviour htmx does not give by itself.
 * - A failed HTMX request shows an inline message next to what it was updating.
 * - Live regions ([data-live]) do not poll while the tab is hidden, and refresh on return.
 * - Holding rows expand into their transactions (loaded by hx-get) and collapse again.
 * - The ticker combobox is usable from the keyboard.
 * No inline scripts anywhere, so a strict Content-Security-Policy can forbid them. */
(function () {
  "use strict";

  // Django's JavaScript catalogue (/jsi18n/, loaded before this file) in the page's
  // language; English as written if it did not load.
  var gettext = window.gettext || function (text) { return text; };
  var interpolate = window.interpolate || function (text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, name) { return values[name]; });
  };

  // --- Errors -------------------------------------------------------------------------
  function describe(status) {
    if (!status) return gettext("Could not reach the server. Check the connection and try again.");
    if (status === 403) return gettext("Not allowed (HTTP 403). Your session may have expired: reload the page.");
    if (status === 404) return gettext("Not found (HTTP 404): it may have been deleted. Reload the page.");
    if (status === 429) return gettext("Too many requests (HTTP 429). Wait a moment and try again.");
    if (status >= 500) return interpolate(gettext("The server had a problem (HTTP %(status)s). Try again in a moment."), {status: status}, true);
    return interpolate(gettext("The request failed (HTTP %(status)s)."), {status: status}, true);
  }

  function anchorFor(elt) {
    // Where the message goes: before the element's declared error anchor, its target,
    // or the element itself.
    var holder = elt.closest("[data-error-anchor]");
    if (holder) return holder;
    var target = elt.getAttribute("hx-target");
    if (target && target.charAt(0) === "#") {
      var found = document.querySelector(target);
      if (found) return found;
    }
    return elt;
  }

  function showError(elt, status) {
    var anchor = anchorFor(elt);
    var box = anchor.previousElementSibling;
    if (!box || !box.classList.contains("htmx-error")) {
      box = document.createElement("div");
      box.className = "htmx-error";
      box.setAttribute("role", "alert");
      anchor.parentNode.insertBefore(box, anchor);
    }
    box.textContent = "";
    var text = document.createElement("span");
    text.textContent = describe(status);
    var dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "link";
    dismiss.textContent = gettext("Dismiss");
    dismiss.addEventListener("click", function () { box.remove(); });
    box.append(text, " ", dismiss);
  }

  function clearError(elt) {
    var anchor = anchorFor(elt);
    var box = anchor && anchor.previousElementSibling;
    if (box && box.classList.contains("htmx-error")) box.remove();
  }

  document.addEventListener("htmx:responseError", function (evt) {
    showError(evt.detail.elt, evt.detail.xhr ? evt.detail.xhr.status : 0);
  });
  document.addEventListener("htmx:sendError", function (evt) { showError(evt.detail.elt, 0); });
  document.addEventListener("htmx:timeout", function (evt) { showError(evt.detail.elt, 0); });
  document.addEventListener("htmx:afterRequest", function (evt) {
    var elt = evt.detail.elt;
    if (!evt.detail.successful || !elt) return;
    // A region that swapped itself out (outerHTML) is found again by its id.
    var current = elt.isConnected ? elt : (elt.id && document.getElementById(elt.id));
    if (current) clearError(current);
  });

  // A request that was sent to the login page (the session ended) must not paste the login
  // form into a table: go there properly instead.
  document.addEventListener("htmx:beforeSwap", function (evt) {
    var login = document.body.dataset.loginUrl;
    var xhr = evt.detail.xhr;
    if (!login || !xhr || !xhr.responseURL) return;
    var path = new URL(xhr.responseURL).pathname;
    if (path === login && window.location.pathname !== login) {
      evt.detail.shouldSwap = false;
      window.location.href = login + "?next=" + encodeURIComponent(window.location.pathname + window.location.search);
    }
  });

  // --- Live regions -------------------------------------------------------------------
  document.addEventListener("htmx:confirm", function (evt) {
    if (document.hidden && evt.target.hasAttribute("data-live")) evt.preventDefault();
  });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) return;
    document.querySelectorAll("[data-live]").forEach(function (elt) {
      htmx.trigger(elt, "live-refresh");
    });
  });

  // --- Expanding holding rows -----------------------------------------------------------
  function detailRow(toggle) {
    return document.getElementById(toggle.getAttribute("aria-controls"));
  }

  document.addEventListener("htmx:confirm", function (evt) {
    var toggle = evt.target;
    if (!toggle.matches || !toggle.matches("[data-expand]")) return;
    var row = detailRow(toggle);
    if (row && !row.hidden) {
      // Open: this click collapses it, no request.
      evt.preventDefault();
      row.hidden = true;
      toggle.setAttribute("aria-expanded", "false");
    }
  });

  document.addEventListener("htmx:afterSwap", function (evt) {
    var toggle = evt.detail.requestConfig && evt.detail.requestConfig.elt;
    if (toggle && toggle.matches && toggle.matches("[data-expand]")) {
      var row = detailRow(toggle);
      if (row) row.hidden = false;
      toggle.setAttribute("aria-expanded", "true");
    }
  });

  // The live table is re-rendered with every row collapsed, but the detail rows are kept
  // (hx-preserve): put each toggle back in step with its row.
  document.addEventListener("htmx:afterSettle", function () {
    document.querySelectorAll("[data-expand]").forEach(function (toggle) {
      var row = detailRow(toggle);
      toggle.setAttribute("aria-expanded", row && !row.hidden ? "true" : "false");
    });
  });

  // --- Dismissing inline forms ------------------------------------------------------------
  document.addEventListener("click", function (evt) {
    var button = evt.target.closest("[data-dismiss]");
    if (!button) return;
    var slot = button.closest("[data-slot]");
    if (!slot) return;
    evt.preventDefault();
    slot.innerHTML = "";
  });

  // --- Ticker combobox ----------------------------------------------------------------
  function listFor(input) {
    return document.getElementById(input.getAttribute("aria-controls"));
  }

  function options(list) {
    return Array.prototype.slice.call(list.querySelectorAll('[role="option"]:not([aria-disabled="true"])'));
  }

  function close(input) {
    var list = listFor(input);
    if (list) list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function choose(input, option) {
    input.value = option.dataset.value;
    var currency = input.form && input.form.querySelector('[name="currency"]');
    if (currency && option.dataset.currency && !currency.value) currency.value = option.dataset.currency;
    close(input);
    input.focus();
  }

  function activate(input, list, index) {
    var all = options(list);
    all.forEach(function (option, i) { option.setAttribute("aria-selected", i === index ? "true" : "false"); });
    if (all[index]) {
      input.setAttribute("aria-activedescendant", all[index].id);
      all[index].scrollIntoView({ block: "nearest" });
    }
  }

  document.addEventListener("htmx:afterSwap", function (evt) {
    var list = evt.detail.target;
    if (!list || list.getAttribute("role") !== "listbox") return;
    var input = document.querySelector('[aria-controls="' + list.id + '"]');
    if (!input) return;
    var open = list.children.length > 0 && document.activeElement === input;
    list.hidden = !open;
    input.setAttribute("aria-expanded", open ? "true" : "false");
    input.removeAttribute("aria-activedescendant");
  });

  document.addEventListener("keydown", function (evt) {
    var input = evt.target;
    if (!input.matches || !input.matches("[data-combobox]")) return;
    var list = listFor(input);
    if (!list || list.hidden) return;
    var all = options(list);
    var current = all.findIndex(function (o) { return o.getAttribute("aria-selected") === "true"; });
    if (evt.key === "ArrowDown") {
      evt.preventDefault();
      activate(input, list, Math.min(current + 1, all.length - 1));
    } else if (evt.key === "ArrowUp") {
      evt.preventDefault();
      activate(input, list, Math.max(current - 1, 0));
    } else if (evt.key === "Enter" && current >= 0) {
      evt.preventDefault();
      choose(input, all[current]);
    } else if (evt.key === "Escape") {
      evt.preventDefault();
      close(input);
    }
  });

  // mousedown, not click: it comes before the input's blur closes the list.
  document.addEventListener("mousedown", function (evt) {
    var option = evt.target.closest('[role="option"][data-value]');
    if (!option) return;
    var list = option.closest('[role="listbox"]');
    var input = list && document.querySelector('[aria-controls="' + list.id + '"]');
    if (!input) return;
    evt.preventDefault();
    choose(input, option);
  });

  document.addEventListener("focusout", function (evt) {
    var input = evt.target;
    if (input.matches && input.matches("[data-combobox]")) {
      window.setTimeout(function () { if (document.activeElement !== input) close(input); }, 100);
    }
  });
})();
