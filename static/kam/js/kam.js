/* KAM: the little JavaScript the pages need. Every page works without it;
   this only adds copy buttons, dismissible alerts, menus that close, and an
   error banner for failed htmx requests. Texts come translated from data
   attributes set in base.html, so this file holds no user-facing strings. */
(function () {
  "use strict";

  var body = document.body;

  function text(name, fallback) {
    return (body && body.dataset[name]) || fallback;
  }

  // --- Copy to clipboard --------------------------------------------------------------------

  function announce(button, message) {
    var id = button.getAttribute("data-copy-feedback");
    var target = id ? document.getElementById(id) : null;
    if (target) {
      target.textContent = message;
    }
  }

  function copyFallback(source) {
    // For pages not served over HTTPS, where navigator.clipboard is missing.
    source.focus();
    if (typeof source.select === "function") {
      source.select();
    } else {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
    }
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function copy(button) {
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source) {
      return;
    }
    var value = "value" in source ? source.value : source.textContent;
    var done = button.getAttribute("data-copied-text") || text("kamCopied", "Copied");
    var failed = button.getAttribute("data-copy-failed-text") || text("kamCopyFailed", "Copy failed");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(value).then(
        function () {
          announce(button, done);
        },
        function () {
          announce(button, copyFallback(source) ? done : failed);
        }
      );
    } else {
      announce(button, copyFallback(source) ? done : failed);
    }
  }

  // --- Error banner for htmx ----------------------------------------------------------------

  function showError(message) {
    var banner = document.getElementById("kam-error-banner");
    if (!banner) {
      return;
    }
    var slot = banner.querySelector("[data-error-text]");
    if (slot) {
      slot.textContent = message;
    }
    banner.hidden = false;
  }

  function hideError() {
    var banner = document.getElementById("kam-error-banner");
    if (banner) {
      banner.hidden = true;
    }
  }

  // Forms answered with 400/422 carry their own error messages: show them in place
  // instead of treating the answer as a failure.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 400 || status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:beforeRequest", hideError);

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var message = text("kamErrorAction", "The action failed.");
    if (status === 403) {
      message = text("kamErrorForbidden", message);
    } else if (status === 404) {
      message = text("kamErrorNotFound", message);
    } else if (status === 503) {
      message = text("kamErrorUnavailable", message);
    }
    showError(message);
  });

  document.addEventListener("htmx:sendError", function () {
    showError(text("kamErrorNetwork", "The server could not be reached."));
  });

  // --- Clicks, keys, focus ------------------------------------------------------------------

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) {
      return;
    }

    var copyButton = target.closest("[data-copy-target]");
    if (copyButton) {
      event.preventDefault();
      copy(copyButton);
      return;
    }

    var dismiss = target.closest("[data-dismiss]");
    if (dismiss && dismiss.getAttribute("data-dismiss") === "inline-panel") {
      // "Cancel" of a form opened in place: close it (without JavaScript the link navigates).
      var panel = dismiss.closest(".inline-panel");
      if (panel) {
        event.preventDefault();
        panel.remove();
      }
      return;
    }
    if (dismiss) {
      var box = dismiss.closest(".alert");
      if (box) {
        if (box.id === "kam-error-banner") {
          box.hidden = true;
        } else {
          box.remove();
        }
      }
      return;
    }

    // A click outside an open <details> menu closes it.
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(target)) {
        menu.removeAttribute("open");
      }
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") {
      return;
    }
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary && menu.contains(document.activeElement)) {
        summary.focus();
      }
    });
  });

  document.addEventListener("focusin", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement && target.hasAttribute("data-select-on-focus")) {
      target.select();
    }
  });
})();
