/* The pipeline board: drag a card to another column to move its stage.
 *
 * Each card carries a small form (a stage select and a Move button) that works without
 * JavaScript. Dropping a card on a column sets that form's select to the column's stage and
 * submits the form: through htmx when it is loaded (hx-post answers the board again, with the
 * CSRF token of the page's hx-headers and the form's own token), else as a plain POST.
 * Handlers are delegated from the document, so a board swapped in by htmx works at once.
 */
(function () {
  "use strict";

  var dragged = null;

  function columnOf(node) {
    return node && node.closest ? node.closest(".pipeline-column[data-stage]") : null;
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".pipeline-card.is-movable");
    if (!card) return;
    dragged = card;
    card.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.id);
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("is-dragging");
    dragged = null;
    document.querySelectorAll(".pipeline-column.is-drop-target").forEach(function (column) {
      column.classList.remove("is-drop-target");
    });
  });

  document.addEventListener("dragover", function (event) {
    var column = columnOf(event.target);
    if (!dragged || !column) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    column.classList.add("is-drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    var column = columnOf(event.target);
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("is-drop-target");
  });

  document.addEventListener("drop", function (event) {
    var column = columnOf(event.target);
    if (!dragged || !column) return;
    event.preventDefault();
    column.classList.remove("is-drop-target");
    var form = dragged.querySelector("form.pipeline-move");
    var select = form && form.querySelector("select[name=stage]");
    var stage = column.getAttribute("data-stage");
    if (!select || select.value === stage) return;
    select.value = stage;
    column.querySelector(".pipeline-cards").appendChild(dragged); // at once; the answer redraws the board
    if (window.htmx) {
      window.htmx.trigger(form, "submit");
    } else if (form.requestSubmit) {
      form.requestSubmit();
    } else {
      form.submit();
    }
  });
})();
