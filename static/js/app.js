// Progressive enhancement only: every form works without this file.
(function () {
  "use strict";

  // "Add another" for Django formsets: clone the <template> of the empty form.
  document.querySelectorAll("[data-formset-add]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var prefix = button.getAttribute("data-formset-add");
      var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
      var max = document.getElementById("id_" + prefix + "-MAX_NUM_FORMS");
      var template = document.getElementById(prefix + "-empty");
      var target = document.getElementById(prefix + "-forms");
      var index = parseInt(total.value, 10);
      if (max && index >= parseInt(max.value, 10)) { return; }
      var html = template.innerHTML.replace(/__prefix__/g, index)
        .replace(/__number__/g, index + 1);
      target.insertAdjacentHTML("beforeend", html);
      total.value = index + 1;
      enhanceLabRows(target);
    });
  });

  // Lab rows: offer only the units the chosen analyte is reported in.
  function enhanceLabRows(root) {
    root.querySelectorAll("select[data-units]").forEach(function (analyte) {
      if (analyte.dataset.enhanced) { return; }
      analyte.dataset.enhanced = "1";
      var map = {};
      analyte.dataset.units.split("|").forEach(function (entry) {
        var parts = entry.split(":");
        map[parts[0]] = parts[1].split(",");
      });
      var unit = document.getElementById(analyte.id.replace(/-analyte$/, "-unit"));
      if (!unit) { return; }
      function filter() {
        var allowed = map[analyte.value];
        Array.prototype.forEach.call(unit.options, function (option) {
          option.hidden = Boolean(allowed && option.value && allowed.indexOf(option.value) < 0);
        });
        if (allowed && unit.value && allowed.indexOf(unit.value) < 0) { unit.value = ""; }
        if (allowed && allowed.length === 1 && !unit.value) { unit.value = allowed[0]; }
      }
      analyte.addEventListener("change", filter);
      filter();
    });
  }
  enhanceLabRows(document);

  // Decision form: the override fields matter only when overriding.
  document.querySelectorAll(".override-fields, .override-guard").forEach(function (block) {
    var form = block.closest("form");
    function sync() {
      var chosen = form.querySelector("input[name=decision]:checked");
      block.hidden = !(chosen && chosen.value === "override");
    }
    form.querySelectorAll("input[name=decision]").forEach(function (radio) {
      radio.addEventListener("change", sync);
    });
    sync();
  });
})();

// Site picker (templates/assessment/_site_picker.html): a foot diagram beside each lesion form.
// The site, heel subsite and laterality selects stay the source of truth: choosing a region
// sets them, and changing them highlights the matching regions. The diagram stays hidden
// unless this script finds the selects it belongs to.
(function () {
  "use strict";

  function selectsOf(picker) {
    var id = "id_" + picker.getAttribute("data-site-picker");
    return {
      site: document.getElementById(id + "-site"),
      subsite: document.getElementById(id + "-heel_subsite"),
      side: document.getElementById(id + "-laterality")
    };
  }

  function chosenText(select) {
    return select.value ? select.options[select.selectedIndex].text : "";
  }

  function sync(picker) {
    var s = selectsOf(picker);
    picker.querySelectorAll("[data-site]").forEach(function (region) {
      var subsite = region.getAttribute("data-subsite");
      var on = region.getAttribute("data-site") === s.site.value &&
        (!subsite || !s.subsite.value || subsite === s.subsite.value) &&
        (s.side.value === "bilateral" || region.getAttribute("data-laterality") === s.side.value);
      region.classList.toggle("is-selected", on);
      region.setAttribute("aria-pressed", on ? "true" : "false");
    });
    var status = picker.querySelector("[data-site-picker-status]");
    if (status) {
      var parts = [chosenText(s.site), chosenText(s.subsite).toLowerCase(),
        chosenText(s.side).toLowerCase()].filter(Boolean);
      status.textContent = s.site.value ? "Chosen: " + parts.join(", ") + "." :
        "No site chosen yet.";
    }
  }

  function set(select, value) {
    if (select.value === value) { return; }
    select.value = value;
    select.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function choose(region) {
    var picker = region.closest("[data-site-picker]");
    var s = selectsOf(picker);
    set(s.site, region.getAttribute("data-site"));
    // A heel subsite belongs to the heel only: another site clears it.
    set(s.subsite, region.getAttribute("data-subsite") || "");
    set(s.side, region.getAttribute("data-laterality"));
    sync(picker);
  }

  function enable(picker) {
    if (picker.hasAttribute("data-enhanced")) { return; }
    var s = selectsOf(picker);
    if (!s.site || !s.subsite || !s.side) { return; }
    picker.setAttribute("data-enhanced", "1");
    picker.hidden = false;
    sync(picker);
  }

  function enableAll(root) {
    root.querySelectorAll("[data-site-picker]").forEach(enable);
  }

  function regionOf(event) {
    var target = event.target;
    var region = target && target.closest ? target.closest("[data-site-picker] [data-site]") :
      null;
    return region && region.closest("[data-enhanced]") ? region : null;
  }

  if (!document.querySelector("[data-site-picker]")) { return; }
  enableAll(document);
  document.addEventListener("click", function (event) {
    var region = regionOf(event);
    if (region) { choose(region); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" && event.key !== " ") { return; }
    var region = regionOf(event);
    if (region) {
      event.preventDefault();  // no page scroll on Space, no form submission on Enter
      choose(region);
    }
  });
  document.addEventListener("change", function (event) {
    var match = /^id_(.+)-(site|heel_subsite|laterality)$/.exec(event.target.id || "");
    if (!match) { return; }
    var picker = document.querySelector("[data-site-picker='" + match[1] + "'][data-enhanced]");
    if (picker) { sync(picker); }
  });
  // Lesion forms added with "Add another lesion" bring their own diagram.
  var container = document.getElementById("lesion-forms");
  if (container && window.MutationObserver) {
    new MutationObserver(function () { enableAll(container); })
      .observe(container, { childList: true });
  }
})();

// Lesion timeline: one photo form for the lesion. The chosen visit decides where the form is
// posted; without this block the form posts to the latest visit, as the page then says.
(function () {
  "use strict";
  document.querySelectorAll("form[data-photo-upload]").forEach(function (form) {
    var select = form.querySelector("[data-photo-visit-select]");
    if (!select) { return; }
    form.querySelectorAll("[data-photo-visit]").forEach(function (el) { el.hidden = false; });
    form.querySelectorAll("[data-photo-visit-fixed]").forEach(function (el) { el.hidden = true; });
    function sync() { form.action = select.value; }
    select.addEventListener("change", sync);
    sync();
  });
})();

// Lesion timeline chart: a resolution is an event (a labelled dashed line at that age), never
// a size of 0 mm, since a resolved lesion is not measured. Added once static/js/timeline.js has
// drawn the chart (it runs after this file, before DOMContentLoaded).
(function () {
  "use strict";
  function markEvents() {
    var canvas = document.getElementById("size-chart");
    var source = document.getElementById("timeline-data");
    if (!canvas || !source || typeof Chart === "undefined") { return; }
    var chart = Chart.getChart(canvas);
    var events = JSON.parse(source.textContent).events || [];
    if (!chart || !events.length) { return; }
    chart.config.plugins.push({
      id: "timelineEvents",
      afterDatasetsDraw: function (c) {
        var x = c.scales.x, area = c.chartArea, ctx = c.ctx;
        events.forEach(function (event) {
          var px = x.getPixelForValue(event.age_months);
          if (px < area.left || px > area.right) { return; }
          var right = px > (area.left + area.right) / 2;
          ctx.save();
          ctx.strokeStyle = "#198754";
          ctx.lineWidth = 2;
          ctx.setLineDash([6, 4]);
          ctx.beginPath();
          ctx.moveTo(px, area.top);
          ctx.lineTo(px, area.bottom);
          ctx.stroke();
          ctx.setLineDash([]);
          ctx.fillStyle = "#146c43";
          ctx.font = "600 12px system-ui, sans-serif";
          ctx.textAlign = right ? "right" : "left";
          ctx.fillText(event.label, px + (right ? -6 : 6), area.top + 14);
          ctx.restore();
        });
      }
    });
    chart.update();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", markEvents);
  } else {
    markEvents();
  }
})();
