"""Does a page fit a phone? For the customer side's browser tests."""

from __future__ import annotations

from playwright.sync_api import Page

PHONE_WIDTH = 390

# The right edge of the widest element, and the document's scroll width, in CSS pixels.
_WIDEST = """() => {
  let widest = 0, culprit = "";
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > widest) {
      widest = box.right;
      culprit = el.tagName.toLowerCase() + "." + String(el.className).split(" ").join(".");
    }
  }
  return {widest, culprit, scrollWidth: document.documentElement.scrollWidth,
          innerWidth: window.innerWidth};
}"""


def assert_fits_phone(page: Page) -> None:
    """No horizontal scroll at 390 px: nothing sticks out to the right."""
    sizes = page.evaluate(_WIDEST)
    assert sizes["innerWidth"] == PHONE_WIDTH, sizes
    assert sizes["scrollWidth"] <= PHONE_WIDTH, sizes
    assert sizes["widest"] <= PHONE_WIDTH + 0.5, sizes


def css(page: Page, selector: str, prop: str) -> str:
    return page.locator(selector).first.evaluate(
        "(el, prop) => getComputedStyle(el).getPropertyValue(prop)", prop)
