/* The staff calendar of appointments: the load heatmap (ECharts), its table, and the slot panel.
 *
 * The heatmap's data is embedded in the page (#load-data) and fetched again from the JSON API after
 * every action on a slot (the server answers those with the "booking-changed" HX-Trigger). A click
 * on a cell, or on a table row, loads that slot's panel (or, for a cell of several queues, the list
 * of the day's slots at that time). Without JavaScript the table's links open the slot's own page.
 */
(function () {
  "use strict";

  var BRAND = "#b3261e";

  function panel() { return document.getElementById("slot-panel"); }

  function openPanel(url) {
    if (window.htmx && panel()) {
      window.htmx.ajax("GET", url, { target: "#slot-panel", swap: "innerHTML" });
    } else {
      window.location.href = url;
    }
  }

  // A refusal of an action on a slot comes back as the panel with its reason (4xx): show it. Any
  // other error page is reduced to its message, so a whole page never lands inside the panel.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status < 400 || xhr.status >= 500 || !event.detail.target.closest("#slot-panel")) { return; }
    if (xhr.responseText.indexOf("data-panel=") !== -1) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
      return;
    }
    var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
    var message = page.querySelector(".message");
    var box = document.createElement("div");
    box.className = "alert error";
    box.setAttribute("role", "alert");
    box.textContent = message ? message.textContent : "操作未完成（" + xhr.status + "），请刷新页面后重试";
    event.detail.target.prepend(box);
  });
  document.addEventListener("htmx:sendError", function () {
    var target = panel();
    if (!target) { return; }
    var box = document.createElement("div");
    box.className = "alert error";
    box.setAttribute("role", "alert");
    box.textContent = "网络连接失败，请检查网络后重试";
    target.prepend(box);
  });

  // A click anywhere on a table row opens its slot, as its link does.
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("tr.slot-row");
    if (!row || event.target.closest("a, button, input")) { return; }
    var link = row.querySelector("a[href]");
    if (link) { link.click(); }
  });

  function tooltip(data, cell) {
    var lines = [data.days[cell.y] + " " + cell.start + "–" + cell.end, "已约 " + cell.booked + "/" + cell.capacity];
    if (cell.slots > 1) { lines.push(cell.slots + " 个队列合计"); }
    if (cell.blocked) {
      lines.push(cell.blocked === cell.slots ? "已暂停预约" : "其中 " + cell.blocked + " 个队列已暂停预约");
    }
    return lines.join("<br>");
  }

  function option(data) {
    var open = [], stopped = [];
    data.cells.forEach(function (cell) {
      var item = { value: [cell.x, cell.y, cell.ratio], cell: cell };
      (cell.blocked && cell.blocked === cell.slots ? stopped : open).push(item);
    });
    return {
      animation: false,
      tooltip: {
        position: "top",
        formatter: function (p) { return tooltip(data, p.data.cell); }
      },
      grid: { left: 110, right: 20, top: 10, bottom: 70 },
      xAxis: { type: "category", data: data.times, splitArea: { show: true }, axisLabel: { interval: 0, rotate: data.times.length > 12 ? 45 : 0 } },
      yAxis: { type: "category", data: data.days, inverse: true, splitArea: { show: true } },
      visualMap: {
        min: 0, max: 1, seriesIndex: 0, calculable: false, orient: "horizontal", left: "center", bottom: 0,
        text: ["约满", "空闲"], inRange: { color: ["#f1f8f4", "#f6c26b", BRAND] },
        formatter: function (v) { return Math.round(v * 100) + "%"; }
      },
      series: [
        {
          name: "已约比例", type: "heatmap", data: open,
          label: { show: true, formatter: function (p) { return p.data.cell.booked + "/" + p.data.cell.capacity; } },
          emphasis: { itemStyle: { borderColor: "#333", borderWidth: 1 } }
        },
        {
          name: "已暂停", type: "heatmap", data: stopped,
          itemStyle: { color: "#9ca3af" },
          label: { show: true, color: "#fff", formatter: "停" },
          emphasis: { itemStyle: { borderColor: "#333", borderWidth: 1 } }
        }
      ]
    };
  }

  function start() {
    var el = document.getElementById("load-chart");
    var source = document.getElementById("load-data");
    if (!el || !source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option(data));
    chart.on("click", function (p) { if (p.data && p.data.cell) { openPanel(p.data.cell.url); } });
    window.addEventListener("resize", function () { chart.resize(); });
    document.body.addEventListener("booking-changed", function () {
      fetch(el.getAttribute("data-src"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (fresh) { if (fresh) { data = fresh; chart.setOption(option(fresh), true); } });
    });
    // The chart shows the load; the table stays one click away (it is the page without JavaScript).
    var table = document.getElementById("load-table");
    if (table) { table.open = false; }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
