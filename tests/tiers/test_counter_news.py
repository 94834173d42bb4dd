"""The counter's result after a purchase that reached a level or earned a badge: each piece of
news is a line of its own beside the points line, in the live status region, with the level's
colour or the badge's icon — never run into the points sentence, never styled as a warning."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.helpers import text
from tests.tiers.badges.conftest import make_badge

from .conftest import reached

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}


def earn(client, shop, card, amount, token="a" * 32, htmx=True):
    return client.post(reverse("counter:earn", args=[shop.slug, card.card_number]),
                       {"amount": amount, "token": token, "reference": ""},
                       headers=HX if htmx else {})


def _status(html: str) -> str:
    """The live status region of the feedback partial."""
    found = re.search(r'<div role="status">(.*?)</div>\s*</div>', html, re.S)
    assert found, html
    return found.group(1)


def _lines(html: str) -> list[tuple[str, str]]:
    """(class, text) of each line in the status region, tags stripped."""
    return [(cls, re.sub(r"<[^>]+>", "", body).strip())
            for cls, body in re.findall(r'<p class="([^"]+)">(.*?)</p>', _status(html), re.S)]


@pytest.fixture
def regular(levels):
    return make_badge(levels, "first_purchase", name="Vaste klant", icon="coffee")


def test_a_level_and_a_badge_are_lines_of_their_own(staff_client, levels, member, regular):
    response = earn(staff_client, levels, member, "62.00")
    assert response.status_code == 200
    html = text(response)
    assert html.lstrip().startswith('<div id="counter-feedback"')
    assert 'aria-live="polite"' in html
    lines = _lines(html)
    assert lines[0] == ("message message-success", "+620 points for €62.00.")
    news = dict(lines[1:])
    assert news == {"counter-news counter-news-badge": "New badge: Vaste klant",
                    "counter-news counter-news-level_up": reached("Zilver", levels)}
    # The badge's own icon, decorative (the words say it); the level's colour on its mark.
    assert re.search(r'<img class="counter-news-icon" src="/static/tiers/badges/coffee\.svg" '
                     r'alt=""', html)
    assert 'fill="#c0c0c0"' in _status(html)
    # Never a warning or an error, and the points sentence does not carry the news.
    assert "message-warning" not in html and "message-error" not in html
    assert reached("Zilver", levels) not in lines[0][1]


def test_a_purchase_without_news_has_only_the_points_line(staff_client, levels, member):
    earn(staff_client, levels, member, "62.00")
    html = text(earn(staff_client, levels, member, "1.00", token="b" * 32))
    assert [cls for cls, _text in _lines(html)] == ["message message-success"]
    assert "counter-news" not in html


def test_a_double_submit_tells_no_news_again(staff_client, levels, member, regular):
    earn(staff_client, levels, member, "62.00")
    html = text(earn(staff_client, levels, member, "62.00"))
    assert "counter-news" not in html
    assert "New badge" not in html and reached("Zilver", levels) not in html


def test_without_javascript_the_news_is_a_message_of_its_own(staff_client, levels, member,
                                                             regular):
    response = earn(staff_client, levels, member, "62.00", htmx=False)
    assert response.status_code == 302
    page = text(staff_client.get(response["Location"]))
    assert re.search(r'<p class="message message-news success">New badge: Vaste klant</p>',
                     page)
    assert f'<p class="message message-news success">{reached("Zilver", levels)}</p>' in page
    assert "points for" in page and "New balance" in page
