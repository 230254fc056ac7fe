// Frontdesk pages: progressive enhancement only; every form works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // --- live updates (Server-Sent Events) -------------------------------------------------
  var live = document.querySelector("[data-live]");
  var source = null;
  var refreshing = false;
  var again = false;

  function liveUrl() {
    var params = new URLSearchParams();
    params.set("tenant_since", live.getAttribute("data-tenant-mark") || "");
    params.set("unread_since", live.getAttribute("data-unread-mark") || "");
    var ticket = live.getAttribute("data-ticket");
    if (ticket) {
      params.set("ticket", ticket);
      params.set("ticket_since", live.getAttribute("data-ticket-mark") || "");
    }
    return live.getAttribute("data-live-url") + "?" + params.toString();
  }

  function connect() {
    if (!window.EventSource || !live) { return; }
    if (source) { source.close(); }
    source = new EventSource(liveUrl());
    source.addEventListener("tenant", refresh);
    source.addEventListener("ticket", refresh);
    source.addEventListener("notifications", function (event) {
      setUnread(JSON.parse(event.data).unread);
    });
  }

  // The bell's count comes with the event itself: no page fetch for it.
  function setUnread(unread) {
    live.setAttribute("data-unread-mark", unread);
    var count = document.querySelector("[data-unread-count]");
    if (!count) { return; }
    count.textContent = unread;
    count.hidden = unread === "0";
  }

  function checkedIds() {
    return Array.prototype.map.call(
      document.querySelectorAll('input[name="ticket_ids"]:checked'),
      function (box) { return box.value; });
  }

  function refresh() {
    if (refreshing) { again = true; return; }
    refreshing = true;
    var keep = checkedIds();
    fetch(window.location.href, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live-region][id]").forEach(function (region) {
          // A region the agent is editing stays as it is; its form then meets the server's
          // version check instead of silently overwriting what changed meanwhile.
          if (region.hasAttribute("data-dirty") || region.contains(document.activeElement)) {
            return;
          }
          var replacement = fresh.getElementById(region.id);
          if (replacement) { region.innerHTML = replacement.innerHTML; }
        });
        keep.forEach(function (id) {
          var box = document.querySelector('input[name="ticket_ids"][value="' + id + '"]');
          if (box) { box.checked = true; }
        });
        var freshLive = fresh.querySelector("[data-live]");
        if (freshLive) {
          live.setAttribute("data-tenant-mark", freshLive.getAttribute("data-tenant-mark") || "");
          setUnread(freshLive.getAttribute("data-unread-mark") || "0");
          if (freshLive.hasAttribute("data-ticket-mark")) {
            live.setAttribute("data-ticket-mark", freshLive.getAttribute("data-ticket-mark"));
          }
        }
        rows = document.querySelectorAll("[data-row]");
        updateBulkCount();
        document.dispatchEvent(new CustomEvent("frontdesk:refreshed"));
      })
      .catch(function () { /* the next event tries again */ })
      .then(function () {
        refreshing = false;
        connect();
        if (again) { again = false; refresh(); }
      });
  }

  if (live) {
    connect();
    var readUrl = live.getAttribute("data-read-url");
    if (readUrl && live.hasAttribute("data-unread")) {
      fetch(readUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": csrfToken(), "X-Requested-With": "fetch" }
      });
    }
  }

  document.addEventListener("input", function (event) {
    var region = event.target.closest && event.target.closest("[data-live-region]");
    if (region && event.target.name !== "ticket_ids") { region.setAttribute("data-dirty", ""); }
  });

  // --- composer: public reply or internal note --------------------------------------------
  var composer = document.querySelector("[data-composer]");
  function setMode(mode) {
    if (!composer) { return; }
    var radio = composer.querySelector('input[name="mode"][value="' + mode + '"]');
    if (!radio) { return false; }
    radio.checked = true;
    applyMode();
    return true;
  }
  function applyMode() {
    var checked = composer.querySelector('input[name="mode"]:checked');
    var note = checked && checked.value === "note";
    composer.classList.toggle("mode-note", note);
    var label = composer.querySelector("[data-composer-label]");
    if (label) { label.textContent = note ? "Internal note (agents only)" : "Reply to the customer"; }
    composer.querySelectorAll("[data-reply-only]").forEach(function (el) { el.hidden = note; });
    var send = composer.querySelector("[data-composer-submit]");
    if (send) { send.textContent = note ? "Add note" : "Send reply"; }
  }
  if (composer) {
    composer.addEventListener("change", function (event) {
      if (event.target.name === "mode") { applyMode(); }
    });
    applyMode();
  }

  // --- bulk selection ----------------------------------------------------------------------
  // The bulk bar shows once a ticket is ticked (always, without this script).
  function updateBulkCount() {
    var n = checkedIds().length;
    var count = document.querySelector("[data-bulk-count]");
    if (count) { count.textContent = n ? n + " selected" : ""; }
    var bar = document.querySelector("[data-bulk-bar]");
    if (bar) { bar.classList.toggle("active", n > 0); }
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("[data-select-all]")) {
      document.querySelectorAll('input[name="ticket_ids"]').forEach(function (box) {
        box.checked = target.checked;
      });
    }
    updateBulkCount();
  });

  // --- keyboard shortcuts --------------------------------------------------------------------
  var rows = document.querySelectorAll("[data-row]");
  var selected = -1;
  var dialog = document.getElementById("shortcuts");

  function items() {
    return rows.length ? rows : document.querySelectorAll("[data-message]");
  }
  function move(step) {
    var list = items();
    if (!list.length) { return; }
    if (list[selected]) { list[selected].classList.remove("selected"); }
    selected = Math.max(0, Math.min(list.length - 1, selected + step));
    var item = list[selected];
    item.classList.add("selected");
    if (rows.length) {
      var link = item.querySelector(".subject a");
      if (link) { link.focus(); }
    } else {
      item.focus();
    }
    item.scrollIntoView({ block: "nearest" });
  }
  function showHelp() {
    if (dialog && dialog.showModal && !dialog.open) { dialog.showModal(); }
  }
  document.querySelectorAll("[data-shortcuts-open]").forEach(function (button) {
    button.addEventListener("click", showHelp);
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) {
      if (event.key === "Escape") { event.target.blur(); }
      return;
    }
    if (dialog && dialog.open) { return; }
    var body = document.getElementById("composer-body");
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "r":
        if (body && setMode("reply")) { body.focus(); } else { return; }
        break;
      case "n":
        if (body && setMode("note")) { body.focus(); } else { return; }
        break;
      case "a":
        var assign = document.querySelector("[data-assign-me]");
        if (assign) { assign.submit(); } else { return; }
        break;
      case "/":
        var search = document.getElementById("search-q");
        if (search) { search.focus(); } else { return; }
        break;
      case "?": showHelp(); break;
      default: return;
    }
    event.preventDefault();
  });
})();
