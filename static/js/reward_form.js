// The reward form: only the chosen kind's part is shown (and sent). Without this script every
// kind's part is on the page, labelled, and the server reads only the chosen one.
(function () {
  "use strict";

  function chosenKind(form) {
    var checked = form.querySelector("input[name=kind]:checked");
    return checked ? checked.value : null;
  }

  function showChosenPart(form) {
    var kind = chosenKind(form);
    var parts = form.querySelectorAll(".kind-part[data-kind]");
    Array.prototype.forEach.call(parts, function (part) {
      var mine = part.getAttribute("data-kind") === kind;
      part.hidden = !mine;
      part.disabled = !mine;  // a hidden part's inputs are not sent either
    });
  }

  function init() {
    var form = document.querySelector("form.reward-form");
    if (!form) return;
    showChosenPart(form);
    form.addEventListener("change", function (event) {
      if (event.target.name === "kind") showChosenPart(form);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
