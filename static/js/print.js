// Printouts (templates/assessment/_print_base.html): the Print button opens the browser's
// print dialog. The button stays hidden without JavaScript (the browser's own Print works).
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
