"""A shop's colour on its customers' pages: the public page, the joined page, the privacy
statement and the portal card.

The Content Security Policy allows no inline styles, so each shop gets a small stylesheet of
its own (``/s/<slug>/theme.css``, see ``members.views.public.theme_css``) that sets the colour
variables of the shared stylesheet inside ``.theme-<slug>``. The colours are derived here so
that text stays readable (WCAG AA, 4.5:1) whatever colour the owner picks: the text on the
colour is white, ink or black, whichever reaches 4.5:1, and the colour used for links and text
on white is darkened until it reaches 4.5:1.
"""

from __future__ import annotations

import hashlib
import re

from django.urls import reverse

DEFAULT_COLOR = "#8a4b2a"
WHITE = "#ffffff"
INK = "#111827"  # --ink in static/css/trouw.css
BLACK = "#000000"
PAGE_BACKGROUND = "#f8fafc"  # --bg
MIN_CONTRAST = 4.5
_HEX = re.compile(r"^#[0-9a-f]{6}$")


def color_normalize(color: str | None) -> str:
    """``#rrggbb`` in lowercase; anything else (never valid in the database, but this goes into
    a stylesheet) becomes the default colour."""
    value = (color or "").strip().lower()
    return value if _HEX.match(value) else DEFAULT_COLOR


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(max(0, min(255, c))):02x}" for c in rgb)


def luminance(color: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb``."""
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two colours, from 1 to 21."""
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def mix(color: str, other: str, share: float) -> str:
    """``color`` with ``share`` (0–1) of ``other`` mixed in."""
    a, b = _rgb(color), _rgb(other)
    return _hex(tuple(x + (y - x) * share for x, y in zip(a, b, strict=True)))


def theme_colors(color: str | None) -> dict[str, str]:
    """The colour variables of a shop's pages, all readable where the stylesheet uses them:

    - ``brand``: the shop's colour, as a background (buttons, the card);
    - ``on_brand``: text on ``brand`` (white or ink);
    - ``brand_dark``: links and headings on white and on ``brand_soft``, and the buttons'
      hover background under white text (at least 4.5:1 against each);
    - ``brand_soft``: a light tint for soft backgrounds, under ink text;
    - ``brand_deep``: the other end of the card's gradient, further from ``on_brand`` than
      ``brand`` (so the text on the card keeps its contrast all the way).
    """
    brand = color_normalize(color)
    # White reaches 4.5:1 on dark colours; on the others ink does, or black for the mid-tones
    # where ink falls just short (black reaches at least 4.58:1 wherever white fails).
    on_brand = next((text for text in (WHITE, INK) if contrast(brand, text) >= MIN_CONTRAST),
                    BLACK)
    soft = mix(brand, WHITE, 0.88)
    dark = brand
    share = 0.0
    while min(contrast(dark, WHITE), contrast(dark, soft), contrast(dark, PAGE_BACKGROUND)) \
            < MIN_CONTRAST:
        share += 0.05
        dark = mix(brand, BLACK, share)
    deep = mix(brand, BLACK if on_brand == WHITE else WHITE, 0.25)
    return {"brand": brand, "on_brand": on_brand, "brand_dark": dark, "brand_soft": soft,
            "brand_deep": deep}


def theme_class(slug: str) -> str:
    """The CSS class that carries a shop's colours (slugs are lowercase letters, digits and
    hyphens, so this is a valid class name)."""
    return f"theme-{slug}"


def theme_css(*, slug: str, color: str | None) -> str:
    colors = theme_colors(color)
    return (
        f"/* The colours of shop {slug} (members/theme.py) */\n"
        f".{theme_class(slug)} {{\n"
        f"  --brand: {colors['brand']};\n"
        f"  --on-brand: {colors['on_brand']};\n"
        f"  --brand-dark: {colors['brand_dark']};\n"
        f"  --brand-soft: {colors['brand_soft']};\n"
        f"  --brand-deep: {colors['brand_deep']};\n"
        "}\n"
    )


def theme_version(*, slug: str, color: str | None) -> str:
    """The ``?v=`` of a shop's theme.css: it changes whenever the stylesheet would."""
    return hashlib.sha256(theme_css(slug=slug, color=color).encode()).hexdigest()[:10]


def theme_context(shop) -> dict:
    """For a page in the shop's colours: ``theme_url`` (its stylesheet, linked in the head by
    ``members/includes/theme_link.html``) and ``theme_class`` (on the element to colour)."""
    version = theme_version(slug=shop.slug, color=shop.brand_color)
    return {
        "theme_url": f"{reverse('shop_theme', args=[shop.slug])}?v={version}",
        "theme_class": theme_class(shop.slug),
    }
