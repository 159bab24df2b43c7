/* Live screens of the hall: the display board, the taxpayer's ticket page, the workstation console
 * and the managers' board follow a server-sent event stream (hall/live.py).
 *
 * The element with data-live="display|ticket|station|board" names the stream (data-events), the
 * snapshot it reloads (data-snapshot into data-target) and how often it reloads it anyway
 * (data-refresh-seconds). The browser reconnects a dropped stream by itself; when the server refused
 * it (a restart behind a proxy, a 502) this script reconnects with a growing delay. Every reconnect
 * reloads the snapshot, so what was missed while away is shown. No sound is ever played.
 */
(function () {
  "use strict";

  function $(selector, root) { return (root || document).querySelector(selector); }

  function setStatus(on) {
    document.body.setAttribute("data-live-state", on ? "on" : "off");
    var el = $("[data-live-status]");
    if (el) {
      el.textContent = on ? "实时更新中" : "连接中断，正在重连…";
      el.classList.toggle("off", !on);
    }
  }

  /* Follow `url`; `handlers` maps event names to functions of the parsed data. */
  function follow(url, handlers) {
    var source = null;
    var timer = null;
    var failures = 0;
    var stopped = false;

    function open() {
      if (stopped) { return; }
      source = new EventSource(url);
      source.onopen = function () { failures = 0; setStatus(true); };
      source.onerror = function () {
        setStatus(false);
        if (source.readyState === EventSource.CLOSED) {
          source.close();
          failures += 1;
          var delay = Math.min(30000, 1000 * Math.pow(2, Math.min(failures, 5)));
          timer = setTimeout(open, delay + Math.random() * 1000);
        }
      };
      Object.keys(handlers).forEach(function (name) {
        source.addEventListener(name, function (event) {
          // The first event arrives once the server is subscribed: from here nothing is missed.
          document.body.setAttribute("data-live-ready", "1");
          var data = {};
          try { data = JSON.parse(event.data); } catch (err) { data = {}; }
          handlers[name](data);
        });
      });
    }

    open();
    return {
      stop: function () { stopped = true; clearTimeout(timer); if (source) { source.close(); } }
    };
  }

  /* Load `url` and put it in place of `selector`: the element itself when the answer carries an
   * element with the same id, else its contents. A signed-out staff member goes to the login page. */
  function reload(url, selector) {
    var target = $(selector);
    if (!target || !url) { return; }
    fetch(url, { credentials: "same-origin", cache: "no-store", headers: { "X-Requested-With": "zhishui-live" } })
      .then(function (response) {
        if (response.redirected || response.status === 401) { window.location.reload(); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html === null || html === undefined) { return; }
        var holder = document.createElement("template");
        holder.innerHTML = html.trim();
        var first = holder.content.firstElementChild;
        var placed = target;
        if (first && target.id && first.id === target.id && holder.content.childElementCount === 1) {
          target.replaceWith(first);
          placed = first;
        } else {
          target.innerHTML = html;
        }
        if (window.htmx) { window.htmx.process(placed); }
      })
      .catch(function () { setStatus(false); });
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }

  function every(seconds, fn) {
    var n = parseInt(seconds, 10);
    if (n > 0) { setInterval(fn, n * 1000); }
  }

  function span(cls, text) {
    var el = document.createElement("span");
    el.className = cls;
    el.textContent = text;
    return el;
  }

  /* HH:MM in the bureau's time zone, whatever the screen's own clock is set to. */
  function hhmm(iso) {
    var d = iso ? new Date(iso) : new Date();
    if (isNaN(d.getTime())) { d = new Date(); }
    try {
      return d.toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false });
    } catch (err) {
      return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
    }
  }

  function flash(el) {
    el.classList.remove("flash");
    void el.offsetWidth; // restart the animation
    el.classList.add("flash");
  }

  // --- display board (大屏叫号) ---------------------------------------------------------------------

  function display(root) {
    var snapshot = function () { reload(root.dataset.snapshot, root.dataset.target); };
    var first = true;

    function called(data) {
      var board = $(root.dataset.target);
      if (!board || !data.code) { return; }
      var line = $("[data-latest]", board);
      if (line) {
        line.classList.remove("idle");
        line.textContent = "";
        var code = document.createElement("b"); code.className = "code"; code.textContent = data.code;
        var station = document.createElement("b"); station.className = "station"; station.textContent = data.station || "";
        line.append("请 ", code, " 号 到 ", station, " 办理");
        flash(line);
      }
      var list = $("[data-stations]", board);
      if (list) {
        var empty = $(".empty", list); if (empty) { empty.remove(); }
        var item = null;
        Array.prototype.forEach.call(list.children, function (li) {
          if (li.getAttribute("data-station") === data.station) { item = li; }
        });
        if (!item) {
          item = document.createElement("li");
          item.setAttribute("data-station", data.station || "");
          item.append(span("station", data.station || ""), span("code", ""));
        }
        $(".code", item).textContent = data.code;
        list.prepend(item);
        while (list.children.length > 6) { list.lastElementChild.remove(); }
        flash(item);
      }
      var recent = $("[data-recent]", board);
      if (recent) {
        var none = $(".empty", recent); if (none) { none.remove(); }
        var row = document.createElement("li");
        row.append(span("code", data.code), span("station", data.station || ""), span("at", hhmm(data.at)));
        recent.prepend(row);
        while (recent.children.length > 8) { recent.lastElementChild.remove(); }
      }
    }

    function waiting(data) {
      var queues = data.queues || {};
      Object.keys(queues).forEach(function (prefix) {
        document.querySelectorAll("[data-queue]").forEach(function (el) {
          if (el.getAttribute("data-queue") === prefix) {
            var count = $("[data-count]", el);
            if (count) { count.textContent = queues[prefix]; }
          }
        });
      });
    }

    function tick() {
      var clock = $("[data-clock]");
      if (clock) { clock.textContent = hhmm(null); }
    }

    follow(root.dataset.events, {
      hello: function () { if (!first) { snapshot(); } first = false; },
      called: called,
      waiting: waiting
    });
    every(root.dataset.refreshSeconds, snapshot);
    tick();
    setInterval(tick, 15000);
    // A screen runs for days: take a fresh page (and script) every six hours.
    setTimeout(function () { window.location.reload(); }, 6 * 3600 * 1000);
  }

  // --- the taxpayer's ticket page ------------------------------------------------------------------

  function ticket(root) {
    var card = $("[data-ticket]");
    var status = card ? (card.className.match(/status-(\w+)/) || [])[1] : "";
    var recalls = 0;
    var stream = null;

    function state(data) {
      if (!card) { return; }
      ["code", "queue", "status_label", "headline", "detail"].forEach(function (key) {
        var el = $("[data-field=\"" + key + "\"]", card);
        if (el && data[key] !== undefined && data[key] !== null) { el.textContent = data[key]; }
      });
      card.classList.remove("status-" + status);
      card.classList.add("status-" + data.status);
      if (data.status === "called" && (status !== "called" || (data.recalls || 0) > recalls)) {
        flash(card);
        if (navigator.vibrate) { navigator.vibrate([400, 150, 400]); }
        document.title = data.headline + " · 智税";
      }
      status = data.status;
      recalls = data.recalls || 0;
      if (data.final && stream) {  // finished, no-show or cancelled: nothing more will happen
        stream.stop();
        var el = $("[data-live-status]");
        if (el) { el.textContent = ""; }
      }
    }

    function gone(data) {
      if (stream) { stream.stop(); }
      if (card) {
        card.className = "ticket-card status-gone";
        $("[data-field=\"headline\"]", card).textContent = data.message || "号票已失效";
        $("[data-field=\"detail\"]", card).textContent = "如需办理，请到导税台重新取号";
      }
      var el = $("[data-live-status]");
      if (el) { el.textContent = ""; }
    }

    stream = follow(root.dataset.events, { state: state, gone: gone });
  }

  // --- staff pages: the workstation console and the managers' board -------------------------------

  function board(root) {
    var snapshot = debounce(function () { reload(root.dataset.snapshot, root.dataset.target); }, 800);
    var first = true;
    follow(root.dataset.events, {
      hello: function () { if (!first) { snapshot(); } first = false; },
      called: snapshot,
      waiting: snapshot,
      mode: snapshot,
      zone: snapshot
    });
    every(root.dataset.refreshSeconds, snapshot);
  }

  function station(root) {
    var live = debounce(function () { reload(root.dataset.snapshot, root.dataset.target); }, 500);
    var whole = debounce(function () { reload(root.dataset.console, "#console"); }, 300);
    var first = true;
    follow(root.dataset.events, {
      hello: function () { if (!first) { whole(); } first = false; },
      called: live,
      waiting: live,
      mode: function (data) {
        var panel = $("#console");
        if (panel && panel.getAttribute("data-station-name") === data.station) { whole(); } else { live(); }
      }
    });
    every(root.dataset.refreshSeconds, live);
  }

  // A refused console action keeps its 4xx status (nothing is swapped in): show its Chinese reason.
  function reason(xhr) {
    var type = xhr.getResponseHeader("content-type") || "";
    try {
      if (type.indexOf("json") >= 0) { return JSON.parse(xhr.responseText).message; }
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var el = doc.querySelector(".message");
      if (el) { return el.textContent.trim(); }
    } catch (err) { /* fall through to the generic text */ }
    return "操作未完成（" + xhr.status + "），请刷新页面后重试";
  }

  function showError(text) {
    var box = $("#console [data-flash]") || $("[data-flash]");
    if (!box) { window.alert(text); return; }
    box.textContent = "";
    var alert = document.createElement("div");
    alert.className = "alert error";
    alert.setAttribute("role", "alert");
    alert.textContent = text;
    box.append(alert);
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status === 401) { window.location.reload(); return; }
    showError(reason(xhr));
  });
  document.addEventListener("htmx:sendError", function () { showError("网络连接失败，请检查网络后重试"); });

  var kinds = { display: display, ticket: ticket, board: board, station: station };

  function start() {
    document.querySelectorAll("[data-live]").forEach(function (root) {
      var kind = kinds[root.getAttribute("data-live")];
      if (kind) { kind(root); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
