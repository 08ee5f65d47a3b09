// The person page's four-quarter trend of the incentive index (ECharts, vendored).
document.addEventListener("DOMContentLoaded", () => {
  const element = document.getElementById("portfolio-trend");
  if (!element || !window.echarts) return;
  const data = JSON.parse(element.dataset.chart);
  const chart = window.echarts.init(element);
  chart.setOption({
    animation: false,
    grid: { left: 40, right: 20, top: 20, bottom: 30 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: data.days },
    yAxis: { type: "value", min: 0, max: 100 },
    series: data.series.map((s) => ({ name: s.name, type: "line", data: s.data, connectNulls: true })),
  });
  window.addEventListener("resize", () => chart.resize());
});
