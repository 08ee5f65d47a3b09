/* Scorecard editor: adds up the weights as they are typed ("Total: 95 / 100", red
   unless exactly 100) and shows only the parameters of each criterion's normalisation
   (and the metric only for quantitative criteria).
   The server checks the weights anyway; without this script every field stays visible.
   The total's text comes translated from the data-template attribute. */
(function () {
  "use strict";

  var form = document.querySelector("[data-scorecard-editor]");
  if (!form) {
    return;
  }
  var output = form.querySelector("[data-weight-total]");

  function number(value) {
    var parsed = parseFloat(String(value).replace(",", "."));
    return isFinite(parsed) ? parsed : 0;
  }

  function updateTotal() {
    var total = 0;
    form.querySelectorAll("[data-criterion]").forEach(function (row) {
      var remove = row.querySelector("input[type=checkbox][name$='-DELETE']");
      var weight = row.querySelector("[data-weight]");
      if (weight && !(remove && remove.checked)) {
        total += number(weight.value);
      }
    });
    total = Math.round(total * 100) / 100;
    if (output) {
      output.textContent = output.getAttribute("data-template").replace("{total}", String(total));
      output.classList.toggle("weight-total--bad", total !== 100);
    }
  }

  function showOnly(row, selectName, attribute) {
    var select = row.querySelector("select[name$='-" + selectName + "']");
    if (!select) {
      return;
    }
    row.querySelectorAll("[" + attribute + "]").forEach(function (group) {
      group.hidden = group.getAttribute(attribute) !== select.value;
    });
  }

  function showParameters(row) {
    showOnly(row, "normalization", "data-param");
    showOnly(row, "kind", "data-kind");
  }

  form.addEventListener("input", updateTotal);
  form.addEventListener("change", function (event) {
    updateTotal();
    var row = event.target instanceof Element ? event.target.closest("[data-criterion]") : null;
    if (row) {
      showParameters(row);
    }
  });
  form.querySelectorAll("[data-criterion]").forEach(showParameters);
  updateTotal();
})();
