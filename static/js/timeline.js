// Size of a lesion over the child's age, with the expected resolution window shaded.
(function () {
  "use strict";
  var canvas = document.getElementById("size-chart");
  var source = document.getElementById("timeline-data");
  if (!canvas || !source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var window_ = data.window;

  var shade = {
    id: "resolutionWindow",
    beforeDatasetsDraw: function (chart) {
      if (!window_) { return; }
      var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
      var left = Math.max(x.getPixelForValue(window_.from), area.left);
      var right = Math.min(x.getPixelForValue(window_.to), area.right);
      if (right <= left) { return; }
      ctx.save();
      ctx.fillStyle = "rgba(25, 135, 84, 0.12)";
      ctx.fillRect(left, area.top, right - left, area.bottom - area.top);
      ctx.restore();
    }
  };

  var ages = data.points.map(function (p) { return p.age_months; });
  var low = Math.min.apply(null, ages.concat(window_ ? [window_.from] : []));
  var high = Math.max.apply(null, ages.concat(window_ ? [window_.to] : []));
  var largest = data.points.filter(function (p) { return p.largest_mm !== null; })
    .map(function (p) { return {x: p.age_months, y: p.largest_mm}; });
  var area = data.points.filter(function (p) { return p.area_mm2 !== null; })
    .map(function (p) { return {x: p.age_months, y: p.area_mm2}; });
  var datasets = [{label: "Largest diameter (mm)", data: largest, yAxisID: "y",
                   borderColor: "#0d6efd", backgroundColor: "#0d6efd", tension: 0}];
  if (area.length) {
    datasets.push({label: "Area (mm²)", data: area, yAxisID: "y2", borderColor: "#6f42c1",
                   backgroundColor: "#6f42c1", borderDash: [6, 4], tension: 0});
  }
  new Chart(canvas, {
    type: "line",
    data: {datasets: datasets},
    plugins: [shade],
    options: {
      maintainAspectRatio: false,
      animation: false,
      scales: {
        x: {type: "linear", min: Math.floor(low - 1), max: Math.ceil(high + 1),
            title: {display: true, text: "Child's age (months)"}},
        y: {beginAtZero: true, title: {display: true, text: "Largest diameter (mm)"}},
        y2: {display: area.length > 0, position: "right", beginAtZero: true,
             grid: {drawOnChartArea: false}, title: {display: true, text: "Area (mm²)"}}
      }
    }
  });
})();
