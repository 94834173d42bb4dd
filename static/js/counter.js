// The counter's focus rules, on top of trouw.js. Everything works without it.
// - After an action changed the card (the server's "membership-changed" event), the focus goes
//   to the "Next customer" field: the next scan lands there, not in the amount field.
// - A fragment swapped in with an element marked data-counter-focus (a confirmation's
//   Confirm button) gets the focus, so Enter confirms and Tab reaches Cancel.
(function () {
  "use strict";

  function focusNext() {
    var next = document.getElementById("next-q");
    if (next) { next.focus(); if (next.select) next.select(); }
  }

  document.addEventListener("membership-changed", function () {
    focusNext();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var mark = document.querySelector("[data-counter-focus]");
    if (mark) mark.focus();
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var root = event.target;
    if (!root || !root.querySelector) return;
    var xhr = event.detail && event.detail.xhr;
    if (xhr && xhr.getResponseHeader("HX-Reswap") === "none") return;  // nothing new came in
    var mark = root.matches("[data-counter-focus]") ? root
      : root.querySelector("[data-counter-focus]");
    if (mark && document.body.contains(mark)) mark.focus();
  });
})();
