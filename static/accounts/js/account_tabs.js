/* The account page's tabs: the clicked tab becomes the selected one (htmx swaps the panel). */
(function () {
  "use strict";
  document.addEventListener("htmx:beforeRequest", function (event) {
    var tab = event.detail.elt;
    if (!tab || !tab.matches || !tab.matches("[data-account-tab]")) {
      return;
    }
    document.querySelectorAll("[data-account-tab]").forEach(function (other) {
      other.setAttribute("aria-selected", other === tab ? "true" : "false");
    });
    document.getElementById("tab-panel").setAttribute("aria-labelledby", tab.id);
  });
})();
