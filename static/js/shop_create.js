// Creating a shop: the web address follows the name as it is typed, until the owner types a
// web address of their own (emptying it makes it follow again). The server makes the same
// address of the name when the field is left empty (loyalty.services.shop_slug_from_name).
(function () {
  "use strict";
  var LETTERS = { "ß": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "œ": "oe", "Œ": "oe",
                  "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "þ": "th" };
  var MAX = 50;

  function slugFromName(name) {
    var slug = name.replace(/[ßæÆøØœŒłŁđĐþ]/g, function (c) { return LETTERS[c]; })
      .normalize("NFKD").replace(/[^\x00-\x7f]/g, "")   // accents off, other scripts out
      .toLowerCase().replace(/[^\w\s-]/g, "").trim()
      .replace(/[-\s]+/g, "-").replace(/^[-_]+|[-_]+$/g, "")
      .replace(/_/g, "-").replace(/-{2,}/g, "-");
    return slug.slice(0, MAX).replace(/^-+|-+$/g, "");
  }
  window.trouwSlugFromName = slugFromName;  // for the browser test

  function setUp() {
    var slug = document.querySelector("input[data-slug-from]");
    if (!slug) return;
    var name = document.getElementById(slug.getAttribute("data-slug-from"));
    if (!name) return;
    var own = slug.value !== "" && slug.value !== slugFromName(name.value);
    name.addEventListener("input", function () {
      if (!own) slug.value = slugFromName(name.value);
    });
    slug.addEventListener("input", function () {
      own = slug.value !== "";
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
