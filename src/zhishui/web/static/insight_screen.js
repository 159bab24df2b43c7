/* The big screen (智慧税务大屏): the live snapshot and the twelve-month trends, drawn with ECharts.
 *
 * #screen carries the endpoints: data-snapshot (JSON, the live part), data-trends (JSON, the months),
 * data-events (server-sent events: `hello` once subscribed, `changed` whenever a hall under the unit
 * changed). Every change reloads the snapshot (debounced), as does every reconnect and a timer; the
 * figures always come from the server. The trends reload every ten minutes.
 */
(function () {
  "use strict";

  var root = document.getElementById("screen");
  if (!root) { return; }
  var charts = {};
  var ZONES = ["triage", "quick", "self", "studio"];

  function $(selector) { return document.querySelector(selector); }

  function pct(v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%"; }
  function mins(v) { return v === null || v === undefined ? "—" : v.toFixed(1) + " 分钟"; }

  function setText(key, text) {
    var el = document.querySelector("[data-kpi=\"" + key + "\"]");
    if (el && el.textContent !== String(text)) {
      el.textContent = text;
      el.classList.remove("flash"); void el.offsetWidth; el.classList.add("flash");
    }
  }

  function chart(id) {
    if (!window.echarts) { return null; }
    if (!charts[id]) {
      var el = document.getElementById(id);
      if (!el) { return null; }
      charts[id] = window.echarts.init(el, "dark", { renderer: "canvas" });
    }
    return charts[id];
  }

  var base = {
    backgroundColor: "transparent",
    textStyle: { fontFamily: "PingFang SC, Noto Sans CJK SC, Microsoft YaHei, sans-serif" },
    grid: { left: 48, right: 48, top: 36, bottom: 28 },
    tooltip: { trigger: "axis" }
  };

  function options(extra) { return Object.assign({}, base, extra); }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.redirected || r.status === 401) { window.location.reload(); return null; }
      return r.ok ? r.json() : null;
    });
  }

  // --- live -----------------------------------------------------------------------------------------

  function drawLive(data) {
    if (!data) { return; }
    var t = data.totals;
    var inHall = ZONES.reduce(function (sum, z) { return sum + (t.active_by_zone[z] || 0); }, 0);
    setText("visits_today", t.visits_today);
    setText("in_hall", inHall);
    setText("waiting", t.waiting);
    setText("ticketless_share", pct(t.ticketless_share));
    setText("minutes_in_hall", mins(t.minutes_in_hall));
    setText("stations", t.stations.front + " / " + t.stations.back + " / " + t.stations.empty);
    var updated = $("[data-updated]");
    if (updated) { updated.textContent = new Date(data.at).toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }); }

    var zoneLabels = data.zones.map(function (z) { return z.label; });
    var zones = chart("chart-zones");
    if (zones) {
      zones.setOption(options({
        xAxis: { type: "category", data: zoneLabels },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", data: data.zones.map(function (z) { return t.active_by_zone[z.key] || 0; }),
                   itemStyle: { color: "#4fc3f7" }, label: { show: true, position: "top" } }]
      }));
    }
    var prefixes = [];
    data.halls.forEach(function (h) { h.queues.forEach(function (q) { if (prefixes.indexOf(q.prefix + " " + q.name) < 0) { prefixes.push(q.prefix + " " + q.name); } }); });
    var queues = chart("chart-queues");
    if (queues) {
      queues.setOption(options({
        legend: { top: 0, textStyle: { color: "#dbe6ff" } },
        xAxis: { type: "category", data: data.halls.map(function (h) { return h.name; }) },
        yAxis: { type: "value", minInterval: 1 },
        series: prefixes.map(function (label) {
          return { name: label, type: "bar", stack: "waiting", data: data.halls.map(function (h) {
            var q = h.queues.filter(function (x) { return x.prefix + " " + x.name === label; })[0];
            return q ? q.waiting : 0;
          }) };
        })
      }), true);
    }
    var body = $("[data-halls] tbody");
    if (body) {
      body.textContent = "";
      if (!data.halls.length) {
        var none = document.createElement("tr");
        none.innerHTML = "<td colspan=\"10\" class=\"empty\">该机构下没有办税服务厅</td>";
        body.append(none);
      }
      data.halls.forEach(function (h) {
        var tr = document.createElement("tr");
        tr.setAttribute("data-hall", h.id);
        var cells = [h.visits_today].concat(ZONES.map(function (z) { return h.active_by_zone[z] || 0; }),
          [h.waiting, h.stations.front, pct(h.ticketless_share), mins(h.minutes_in_hall)]);
        var name = document.createElement("td");
        var link = document.createElement("a");
        link.href = "/insight/screen?unit=" + h.id;
        link.textContent = h.name;
        name.append(link);
        tr.append(name);
        cells.forEach(function (c) { var td = document.createElement("td"); td.textContent = c; tr.append(td); });
        body.append(tr);
      });
    }
  }

  function snapshot() { return getJSON(root.dataset.snapshot).then(drawLive).catch(function () { setStatus(false); }); }

  // --- trends ---------------------------------------------------------------------------------------

  function line(series, keys, metrics, scale) {
    return keys.map(function (key) {
      var label = (metrics.filter(function (m) { return m.key === key; })[0] || {}).label || key;
      return { name: label, type: "line", smooth: true, connectNulls: false,
               data: series.map(function (p) { var v = p.values[key]; return v === null ? null : +(v * scale).toFixed(2); }) };
    });
  }

  function drawTrends(data) {
    if (!data) { return; }
    var months = data.series.map(function (p) { return p.period; });
    function draw(id, keys, scale, unit) {
      var c = chart(id);
      if (!c) { return; }
      c.setOption(options({
        legend: { top: 0, textStyle: { color: "#dbe6ff" } },
        xAxis: { type: "category", data: months },
        yAxis: { type: "value", axisLabel: { formatter: "{value}" + unit } },
        series: line(data.series, keys, data.metrics, scale)
      }), true);
    }
    draw("chart-rates", ["online_handling_rate", "ticketless_share", "self_service_completion"], 100, "%");
    draw("chart-volumes", ["hall_visits", "tickets_issued", "deflected_visits"], 1, "");
    draw("chart-times", ["time_in_hall_mean", "time_in_hall_p90", "wait_mean"], 1, "");
    draw("chart-center", ["sla_resolution", "first_contact_resolution", "work_orders_on_time"], 100, "%");
  }

  function trends() { return getJSON(root.dataset.trends).then(drawTrends).catch(function () { /* next round */ }); }

  // --- the stream -----------------------------------------------------------------------------------

  function setStatus(on) {
    document.body.setAttribute("data-live-state", on ? "on" : "off");
    var el = $("[data-live-status]");
    if (el) { el.textContent = on ? "实时更新中" : "连接中断，正在重连…"; el.classList.toggle("off", !on); }
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }

  var refresh = debounce(snapshot, 500);
  var failures = 0;

  function follow() {
    var source = new EventSource(root.dataset.events);
    source.onopen = function () { failures = 0; setStatus(true); };
    source.onerror = function () {
      setStatus(false);
      if (source.readyState === EventSource.CLOSED) {
        failures += 1;
        setTimeout(follow, Math.min(30000, 1000 * Math.pow(2, Math.min(failures, 5))));
      }
    };
    source.addEventListener("hello", function () {
      document.body.setAttribute("data-live-ready", "1");
      snapshot();
    });
    source.addEventListener("changed", refresh);
  }

  function tick() {
    var el = $("[data-clock]");
    if (el) { el.textContent = new Date().toLocaleTimeString("zh-CN", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false }); }
  }

  function start() {
    var drill = $("[data-drill]");
    if (drill) {
      drill.addEventListener("change", function () { if (drill.value) { window.location.href = "/insight/screen?unit=" + drill.value; } });
    }
    tick();
    setInterval(tick, 15000);
    snapshot();
    trends();
    follow();
    var seconds = parseInt(root.dataset.refreshSeconds, 10) || 30;
    setInterval(snapshot, seconds * 1000);
    setInterval(trends, 10 * 60 * 1000);
    window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
    // A screen runs for days: a fresh page (and script) every six hours.
    setTimeout(function () { window.location.reload(); }, 6 * 3600 * 1000);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
