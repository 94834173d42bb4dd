// Trouw's few lines of page behaviour. Everything works without it; it only saves clicks.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // The language picker submits itself on change.
  document.addEventListener("change", function (event) {
    var select = event.target.closest("[data-autosubmit]");
    if (select && select.form) select.form.submit();
  });

  // The element marked data-autofocus gets focus on load and after an htmx swap has settled
  // (the counter's search box: ready for the next customer or scan). Not on afterSwap: htmx
  // wires up the new content's hx-post only when it settles, and an Enter in between would
  // submit the form without htmx, as a full page. (base.html sets htmx's settle delay to 0, so
  // that no keystroke can fall between a swap and the wiring of what it brought.)
  // Already focused (a scanner or a quick hand typed before the page finished loading): leave
  // it as it is; selecting would make the next keystroke replace what was typed.
  function focusMarked(root) {
    var el = (root || document).querySelector("[data-autofocus]");
    if (el && document.activeElement !== el) { el.focus(); if (el.select) el.select(); }
  }
  document.addEventListener("DOMContentLoaded", function () { focusMarked(document); });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target && event.detail.target.id === "panel") focusMarked(document);
  });

  // Copy buttons (e.g. the shop's public link).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button || !navigator.clipboard) return;
    navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
      var done = button.getAttribute("data-copied") || "Copied";
      var before = button.textContent;
      button.textContent = done;
      setTimeout(function () { button.textContent = before; }, 1500);
    });
  });

  // Arrow keys move through counter search results; Enter opens the focused one.
  document.addEventListener("keydown", function (event) {
    var list = document.getElementById("results");
    if (!list || (event.key !== "ArrowDown" && event.key !== "ArrowUp")) return;
    var links = Array.prototype.slice.call(list.querySelectorAll("a.result"));
    if (!links.length) return;
    var index = links.indexOf(document.activeElement);
    index = event.key === "ArrowDown" ? Math.min(index + 1, links.length - 1)
                                       : Math.max(index - 1, -1);
    event.preventDefault();
    if (index < 0) focusMarked(document); else links[index].focus();
  });
})();
