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
  document.querySelectorAll(".override-fields").forEach(function (block) {
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
