"""The levels editor: a level's own birthday points (previewed, then saved; bad input gets our
words and changes nothing), and its numbers in the owner's language (1,25 in Dutch, read back
as written, 1.25 too)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from loyalty.services import program_rules_update
from tests.helpers import text
from tiers.models import MAX_BIRTHDAY_POINTS, Tier

from .conftest import levels_set
from .test_views_dashboard import form

pytestmark = pytest.mark.django_db


def url(shop) -> str:
    return reverse("tiers_levels", args=[shop.slug])


def saved_rows(shop, **changes) -> list[dict]:
    """The saved levels as the page sends them back, with ``changes`` ({name: {field: value}})."""
    rows = []
    for tier in Tier.objects.for_shop(shop).order_by("threshold"):
        row = {"id": str(tier.pk), "name": tier.name, "threshold": str(int(tier.threshold)),
               "multiplier": str(tier.multiplier), "colour": tier.colour,
               "birthday_points": "" if tier.birthday_points is None
               else str(tier.birthday_points)}
        row.update(changes.get(tier.name, {}))
        rows.append(row)
    return rows


def gifts(shop) -> dict[str, int | None]:
    return dict(Tier.objects.for_shop(shop).values_list("name", "birthday_points"))


def test_the_owner_previews_and_saves_a_levels_birthday_points(owner_client, levels):
    program_rules_update(shop=levels, by=None, birthday_points=250, birthday_window="day",
                         birthday_days_before=0)
    rows = saved_rows(levels, Zilver={"birthday_points": "500"}, Goud={"birthday_points": "0"})
    preview = owner_client.post(url(levels), form(rows=rows, period="lifetime"))
    assert preview.status_code == 200
    assert 'value="500"' in text(preview)  # shown back as typed, for the save
    listed = text(preview).split('id="preview-birthday"')[1].split("</ul>")[0]
    assert "Brons: 250 points on their birthday" in listed  # the shop's usual gift
    assert "Zilver: 500 points on their birthday" in listed
    assert "Goud: no birthday points" in listed
    assert gifts(levels) == {"Brons": None, "Zilver": None, "Goud": None}  # nothing yet

    saved = owner_client.post(url(levels), form("save", rows=rows, period="lifetime"))
    assert saved.status_code == 302
    assert gifts(levels) == {"Brons": None, "Zilver": 500, "Goud": 0}
    page = text(owner_client.get(url(levels), headers={"accept-language": "en"}))
    assert 'name="tiers-1-birthday_points"' in page and 'value="500"' in page
    assert "Leave it empty for your usual birthday points" in page


def test_emptying_a_levels_birthday_points_brings_back_the_shops(owner_client, levels):
    owner_client.post(url(levels), form("save", period="lifetime", rows=saved_rows(
        levels, Zilver={"birthday_points": "500"})))
    owner_client.post(url(levels), form("save", period="lifetime", rows=saved_rows(
        levels, Zilver={"birthday_points": ""})))
    assert gifts(levels)["Zilver"] is None


def test_grouped_thousands_are_read_as_written(owner_client, levels):
    for typed in ("1.000", "1,000", "1 000"):
        owner_client.post(url(levels), form("save", period="lifetime", rows=saved_rows(
            levels, Goud={"birthday_points": typed})))
        assert gifts(levels)["Goud"] == 1000, typed


@pytest.mark.parametrize("typed", ["-5", "1.5", "2,5", "abc", "100001", "1.0000", "5e3",
                                   "١٢٣"])
def test_bad_birthday_points_are_refused_in_our_words(owner_client, levels, typed):
    owner_client.post(url(levels), form("save", period="lifetime", rows=saved_rows(
        levels, Zilver={"birthday_points": "500"})))
    before = list(Tier.objects.for_shop(levels).order_by("pk").values())
    for action in ("preview", "save"):
        page = owner_client.post(url(levels), form(action, period="lifetime", rows=saved_rows(
            levels, Goud={"birthday_points": typed})), headers={"accept-language": "en"})
        assert page.status_code == 400
        assert ("Level 3: the birthday points are a whole number from 0 to 100,000, or empty "
                "for the shop&#x27;s usual birthday gift.") in text(page)
        assert f'value="{typed}"' in text(page)  # kept for correcting
    assert list(Tier.objects.for_shop(levels).order_by("pk").values()) == before


def test_the_database_refuses_too_many_birthday_points(levels):
    zilver = Tier.objects.get(shop=levels, name="Zilver")
    Tier.objects.filter(pk=zilver.pk).update(birthday_points=MAX_BIRTHDAY_POINTS)
    with pytest.raises(IntegrityError), transaction.atomic():
        Tier.objects.filter(pk=zilver.pk).update(birthday_points=MAX_BIRTHDAY_POINTS + 1)


# --- the owner's number format ----------------------------------------------------------------


def test_in_dutch_the_editor_shows_and_reads_a_decimal_comma(owner_client, levels):
    owner_client.cookies["django_language"] = "nl"
    page = text(owner_client.get(url(levels)))
    assert 'value="1,25"' in page and 'value="1,50"' in page and 'value="1,00"' in page
    assert 'value="1.25"' not in page and 'value="1.50"' not in page
    assert "1,25" in page.split('id="tier-multiplier-help"')[1].split("</p>")[0]

    rows = saved_rows(levels, Zilver={"multiplier": "1,75"}, Goud={"multiplier": "2.25"})
    preview = owner_client.post(url(levels), form(rows=rows, period="lifetime"))
    assert preview.status_code == 200
    assert 'value="1,75"' in text(preview)  # shown back as typed
    saved = owner_client.post(url(levels), form("save", rows=rows, period="lifetime"))
    assert saved.status_code == 302
    multipliers = dict(Tier.objects.for_shop(levels).values_list("name", "multiplier"))
    assert multipliers == {"Brons": Decimal("1.00"), "Zilver": Decimal("1.75"),
                           "Goud": Decimal("2.25")}
    page = text(owner_client.get(url(levels)))
    assert 'value="1,75"' in page and 'value="2,25"' in page


def test_in_dutch_saving_the_page_as_shown_changes_no_multiplier(owner_client, levels):
    owner_client.cookies["django_language"] = "nl"
    page = text(owner_client.get(url(levels)))
    rows = saved_rows(levels)
    for row in rows:  # what the browser sends back of the page it was shown
        row["multiplier"] = row["multiplier"].replace(".", ",")
        assert f'value="{row["multiplier"]}"' in page
    owner_client.post(url(levels), form("save", rows=rows, period="lifetime"))
    multipliers = dict(Tier.objects.for_shop(levels).values_list("name", "multiplier"))
    assert multipliers == {"Brons": Decimal("1.00"), "Zilver": Decimal("1.25"),
                           "Goud": Decimal("1.50")}


def test_in_dutch_a_bad_multiplier_is_explained_with_dutch_numbers(owner_client, levels):
    owner_client.cookies["django_language"] = "nl"
    before = list(Tier.objects.for_shop(levels).order_by("pk").values())
    for typed in ("0,5", "1,2,5", "10,01", "1,255", "x"):
        page = owner_client.post(url(levels), form("save", period="lifetime", rows=saved_rows(
            levels, Zilver={"multiplier": typed})))
        assert page.status_code == 400, typed
        body = text(page)
        assert "1,00" in body and "10,00" in body and "1,25" in body
        assert "1.00" not in body.split('id="tier-errors"')[1].split("</div>")[0]
    assert list(Tier.objects.for_shop(levels).order_by("pk").values()) == before


def test_in_dutch_an_amount_threshold_shows_a_decimal_comma(owner_client, shop):
    levels_set(shop, measure="amount", tiers=[
        {"name": "Zilver", "colour": "#c0c0c0", "threshold": "42.50", "multiplier": "1.25"}])
    owner_client.cookies["django_language"] = "nl"
    page = text(owner_client.get(url(shop)))
    assert 'value="42,50"' in page
    rows = [{"id": str(Tier.objects.get(shop=shop).pk), "name": "Zilver", "threshold": "42,75",
             "multiplier": "1,25", "colour": "#c0c0c0"}]
    owner_client.post(url(shop), form("save", rows=rows, measure="amount"))
    tier = Tier.objects.get(shop=shop)
    assert (tier.threshold, tier.multiplier) == (Decimal("42.75"), Decimal("1.25"))
