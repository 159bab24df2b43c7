// The staffing plan's chart: arrivals per hour (line, right axis) and workstations needed (bars).
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("plan-chart");
  const source = document.getElementById("plan-data");
  if (!box || !source || !window.echarts) return;
  const d = JSON.parse(source.textContent);
  const chart = echarts.init(box);
  chart.setOption({
    tooltip: { trigger: "axis" },
    legend: { data: ["排班人数（含缺勤）", "在岗工位", "不计滞后", "到达人数"] },
    xAxis: { type: "category", data: d.hours },
    yAxis: [
      { type: "value", name: "人数", minInterval: 1 },
      { type: "value", name: "到达", position: "right" },
    ],
    series: [
      { name: "排班人数（含缺勤）", type: "bar", data: d.rostered },
      { name: "在岗工位", type: "bar", data: d.agents },
      { name: "不计滞后", type: "line", step: "middle", data: d.sipp, lineStyle: { type: "dashed" } },
      { name: "到达人数", type: "line", yAxisIndex: 1, smooth: true, data: d.arrivals },
    ],
  });
  window.addEventListener("resize", () => chart.resize());
});

// The what-if chart: baseline and what-if bars per measure (minutes), each with its 95 % interval.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("whatif-chart");
  const source = document.getElementById("whatif-data");
  if (!box || !source || !window.echarts) return;
  const d = JSON.parse(source.textContent);
  const chart = echarts.init(box);
  const whiskers = (bounds, offset) => ({
    type: "custom",
    name: offset < 0 ? "基准" : "调整后",
    silent: true,
    data: bounds.map((b, i) => (b ? [i, b[0], b[1]] : [i, null, null])),
    renderItem: (params, api) => {
      const low = api.value(1);
      const high = api.value(2);
      if (low === null || high === null || Number.isNaN(low)) return null;
      const bottom = api.coord([api.value(0), low]);
      const top = api.coord([api.value(0), high]);
      const x = bottom[0] + offset * api.size([1, 0])[0] * 0.2;
      return {
        type: "group",
        children: [
          { type: "line", shape: { x1: x, y1: bottom[1], x2: x, y2: top[1] }, style: { stroke: "#333" } },
          { type: "line", shape: { x1: x - 4, y1: top[1], x2: x + 4, y2: top[1] }, style: { stroke: "#333" } },
          { type: "line", shape: { x1: x - 4, y1: bottom[1], x2: x + 4, y2: bottom[1] }, style: { stroke: "#333" } },
        ],
      };
    },
    z: 10,
  });
  chart.setOption({
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { data: ["基准", "调整后"] },
    xAxis: { type: "category", data: d.labels },
    yAxis: { type: "value", name: "分钟" },
    series: [
      { name: "基准", type: "bar", data: d.baseline },
      { name: "调整后", type: "bar", data: d.whatif },
      whiskers(d.baseline_ci, -1),
      whiskers(d.whatif_ci, 1),
    ],
  });
  window.addEventListener("resize", () => chart.resize());
});
