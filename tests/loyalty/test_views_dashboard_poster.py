"""The printable poster (A4) and table card (A6): the join QR code of the shop's public page
(its absolute address, from settings.TROUW_BASE_URL), its name, colour and the program in one
sentence — for the owner of that shop only."""

from __future__ import annotations

import io
import re

import pytest
import segno
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from django.utils.html import escape
from PIL import Image

from loyalty import selectors, services
from loyalty.models import ProgramRules, Shop
from loyalty.views.dashboard import join_qr_svg
from tests.helpers import signed_in, text

pytestmark = pytest.mark.django_db

URLS = {"a4": "/dashboard/{slug}/poster/", "a6": "/dashboard/{slug}/poster/table-card/"}


@pytest.fixture
def base_url(settings):
    settings.TROUW_BASE_URL = "https://trouw.example/"
    return "https://trouw.example"


@pytest.fixture
def program(shop, owner):
    services.program_rules_update(shop=shop, by=owner, points_per_unit=10,
                                  points_per_currency_value=100)
    shop.brand_color = "#1e40af"
    shop.save(update_fields=["brand_color"])
    return selectors.program_rules_in_force(shop=shop)


def qr_matrix_of(svg: str) -> list[list[bool]]:
    """The dark modules of one of segno's inline SVGs, read back from its path."""
    return [[bool(v) for v in row] for row in _matrix_from_path(svg)]


def _matrix_from_path(svg: str):
    # segno draws each row's dark runs as "M x y h n" moves (relative, "m" after the first).
    path = re.search(r' d="([^"]+)"', svg).group(1)
    x = y = 0.0
    runs = []
    for command, a, b in re.findall(r"([MmHh])\s*(-?[\d.]+)(?:\s+(-?[\d.]+))?", path):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:  # h: a dark run along the row
            runs.append((int(y), int(x), int(x + float(a))))
            x += float(a)
    size = max(end for _y, _x, end in runs)
    matrix = [[0] * size for _ in range(size)]
    for row, start, end in runs:
        for col in range(start, end):
            matrix[row][col] = 1
    return matrix


@pytest.mark.parametrize("size", ["a4", "a6"])
def test_the_sheet_has_the_code_name_colour_and_sentence(owner_client, shop, program, base_url,
                                                         size):
    response = owner_client.get(URLS[size].format(slug=shop.slug))

    assert response.status_code == 200
    page = text(response)
    sheet = re.search(r'<article class="sheet sheet-(a4|a6)".*?</article>', page, re.S)
    assert sheet and sheet.group(1) == size
    sheet = sheet.group(0)
    assert "Bakkerij Noord" in sheet
    # The sentence in the shop's language (nl), whatever the owner's: € 1.
    with translation.override("nl"):
        sentence = selectors.program_sentence(rules=program, currency="EUR")
    assert "€\u00a01 " in sentence
    assert f'<p class="sheet-sentence">{escape(sentence)}</p>' in sheet
    assert 'fill="#1e40af"' in sheet  # the shop's colour
    assert "trouw.example/s/bakkerij-noord" in sheet
    # The QR code encodes the absolute public address, as segno draws it.
    qr = re.search(r"<svg[^>]*class=\"sheet-qr\".*?</svg>", sheet, re.S).group(0)
    assert qr == join_qr_svg(f"{base_url}/s/{shop.slug}/")
    expected = segno.make(f"{base_url}/s/{shop.slug}/", error="m")
    assert qr_matrix_of(qr) == [[bool(v) for v in row] for row in expected.matrix]
    # The page asks for its paper size.
    paper = "print-a6.css" if size == "a6" else "print-a4.css"
    assert re.search(rf'<link rel="stylesheet" href="/static/css/{paper}[^"]*" media="print">',
                     page)


def test_a_stamp_card_says_so_in_the_shops_language(owner_client, shop, base_url):
    # Stored as the rules editor stores a stamp card (one step, a stamp is a point).
    rules = ProgramRules.objects.create(
        shop=shop, version=1, program="stamps", stamps_per_card=10,
        stamp_reward="een gratis koffie", points_per_unit=0, steps_replace_rate=True,
        steps=[{"min_amount": "3.00", "points": 1}])
    Shop.objects.filter(pk=shop.pk).update(current_rules=rules)
    with translation.override("nl"):
        sentence = selectors.program_sentence(rules=rules, currency="EUR")
    assert "een gratis koffie" in sentence

    page = text(owner_client.get(URLS["a6"].format(slug=shop.slug)))

    assert escape(sentence) in page


def test_the_logo_is_on_the_sheet(owner_client, shop, program, base_url, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    services.shop_update(shop=shop, logo=SimpleUploadedFile("logo.png", buffer.getvalue(),
                                                            "image/png"))
    page = text(owner_client.get(URLS["a4"].format(slug=shop.slug)))
    assert f'<img class="sheet-logo" src="{shop.logo.url}"' in page


def test_the_dashboard_menu_links_to_the_poster(owner_client, shop):
    page = text(owner_client.get(f"/dashboard/{shop.slug}/"))
    assert f'<a href="/dashboard/{shop.slug}/poster/">Poster</a>' in page


@pytest.mark.parametrize("size", ["a4", "a6"])
def test_only_the_shops_owner_sees_it(client, shop, other_owner, staff_user, member, size):
    url = URLS[size].format(slug=shop.slug)
    for user in (other_owner, staff_user, member.user):
        assert signed_in(user).get(url).status_code == 404
    response = client.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_each_owner_gets_their_own_shop(shop, owner, other_shop, other_owner, base_url):
    mine = text(signed_in(owner).get(URLS["a4"].format(slug=shop.slug)))
    theirs = text(signed_in(other_owner).get(URLS["a4"].format(slug=other_shop.slug)))
    assert "bakkerij-noord" in mine and "kaashandel-zuid" not in mine
    assert "kaashandel-zuid" in theirs and "bakkerij-noord" not in theirs
