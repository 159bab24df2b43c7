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
