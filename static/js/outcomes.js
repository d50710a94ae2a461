// Registry outcomes: Kaplan–Meier curves of time to resolution, one stepped line per group,
// with each group's expected window from the knowledge base shaded in the group's colour.
// The figures come from the page (json_script "outcomes-data"); the tables below the chart
// hold the same figures for readers who cannot see it.
(function () {
  "use strict";
  var canvas = document.getElementById("outcomes-chart");
  var source = document.getElementById("outcomes-data");
  if (!canvas || !source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  if (!data.groups || !data.groups.length) { return; }

  function tint(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + ((n >> 16) & 255) + ", " + ((n >> 8) & 255) + ", " + (n & 255) + ", " +
      alpha + ")";
  }

  function weeks(value) {
    var rounded = Math.round(value * 10) / 10;
    return (rounded % 1 === 0 ? rounded.toFixed(0) : rounded.toFixed(1)) + " weeks";
  }

  var narrow = window.matchMedia("(max-width: 575.98px)").matches;
  var high = 0;
  var datasets = data.groups.map(function (group) {
    var points = group.curve.map(function (p) { return {x: p[0], y: p[1]}; });
    high = Math.max(high, points[points.length - 1].x);
    // `stepped: true` ("before") draws from each point across at the old value, then down at
    // the next point: a Kaplan–Meier curve keeps its value until the next resolution ("after"
    // would draw every drop one interval early).
    return {label: group.label, data: points, stepped: true, borderColor: group.color,
            backgroundColor: group.color, borderWidth: 2, pointRadius: 0, pointHitRadius: 6,
            kind: "curve"};
  });
  data.groups.forEach(function (group) {
    var w = group.window;
    if (!w || w[1] <= 0) { return; }
    high = Math.max(high, w[1]);
    datasets.push({
      label: narrow ? group.window_label_short : group.window_label,
      data: [{x: w[0], y: 0}, {x: w[0], y: 1}, {x: w[1], y: 1}, {x: w[1], y: 0}],
      borderColor: group.color, borderDash: [6, 4], borderWidth: 1,
      backgroundColor: tint(group.color, 0.12), fill: "origin", pointRadius: 0,
      pointHitRadius: 0, kind: "window", window: w
    });
  });

  new Chart(canvas, {
    type: "line",
    data: {datasets: datasets},
    options: {
      maintainAspectRatio: false,
      animation: false,
      parsing: true,
      interaction: {mode: "nearest", axis: "x", intersect: false},
      scales: {
        x: {type: "linear", min: 0, suggestedMax: Math.ceil(high / 4) * 4,
            title: {display: true, text: "Weeks since the lesion's first visit"},
            ticks: {maxTicksLimit: narrow ? 6 : 14}},
        y: {min: 0, max: 1,
            title: {display: true, text: "Lesions not yet resolved"},
            ticks: {callback: function (value) { return Math.round(value * 100) + "%"; }}}
      },
      plugins: {
        legend: {position: "bottom", align: "start",
                 labels: {boxWidth: narrow ? 10 : 14, font: {size: narrow ? 11 : 12}}},
        tooltip: {
          filter: function (item) { return item.dataset.kind === "curve"; },
          callbacks: {
            title: function (items) { return items.length ? weeks(items[0].parsed.x) : ""; },
            label: function (item) {
              return item.dataset.label + ": " + Math.round(item.parsed.y * 100) +
                "% not yet resolved";
            }
          }
        }
      }
    }
  });
})();
