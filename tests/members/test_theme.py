"""A shop's colours (members/theme.py): whatever colour the owner picks, the text the pages
put on it and the links in it stay readable (WCAG AA: 4.5:1)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from members.theme import (
    DEFAULT_COLOR,
    PAGE_BACKGROUND,
    WHITE,
    color_normalize,
    contrast,
    theme_colors,
    theme_css,
)

colors = st.integers(min_value=0, max_value=0xFFFFFF).map(lambda n: f"#{n:06x}")


def test_contrast_of_the_known_pairs():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert contrast("#777777", "#777777") == 1.0
    # WCAG's own example: #767676 on white is just over 4.5:1.
    assert 4.5 < contrast("#767676", WHITE) < 4.6


@given(colors)
def test_every_colour_gets_readable_text_and_links(color):
    theme = theme_colors(color)
    assert theme["brand"] == color
    assert contrast(theme["brand"], theme["on_brand"]) >= 4.5
    assert contrast(theme["brand_deep"], theme["on_brand"]) >= 4.5
    for background in (WHITE, PAGE_BACKGROUND, theme["brand_soft"]):
        assert contrast(theme["brand_dark"], background) >= 4.5


def test_dark_colours_keep_white_text_and_their_own_links():
    theme = theme_colors("#8a4b2a")
    assert theme["on_brand"] == WHITE
    assert theme["brand_dark"] == "#8a4b2a"  # already readable on white: unchanged


def test_light_colours_get_dark_text_and_darker_links():
    theme = theme_colors("#ffcc00")
    assert theme["on_brand"] != WHITE
    assert theme["brand_dark"] != "#ffcc00"


def test_only_a_colour_reaches_the_stylesheet():
    assert color_normalize("#ABCDEF") == "#abcdef"
    for bad in ("", None, "red", "#abc", "#abcdef; } body { display: none", "#gggggg"):
        assert color_normalize(bad) == DEFAULT_COLOR
    css = theme_css(slug="zon", color="#abcdef;}</style>")
    assert "</style>" not in css and "}" in css
    assert f"--brand: {DEFAULT_COLOR};" in css
