"""The owner's "Levels" page: preview first (nothing changes), then save; bad input gets our
own words and changes nothing; only the shop's owners reach it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from loyalty.models import Membership
from loyalty.services import purchase_record
from tests.factories import MembershipFactory
from tests.helpers import signed_in, text
from tiers.models import Tier, TierProgram

from .conftest import levels_set

pytestmark = pytest.mark.django_db


def url(shop) -> str:
    return reverse("tiers_levels", args=[shop.slug])


def form(action="preview", enabled=True, rows=(), measure="points", period="year", **extra):
    data = {"measure": measure, "period": period, "downgrade": "one", "grace_days": "0",
            "action": action, "tiers-TOTAL": str(len(rows))}
    if enabled:
        data["enabled"] = "on"
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"tiers-{index}-{name}"] = value
    data.update(extra)
    return data


ROWS = [{"name": "Brons", "threshold": "100", "multiplier": "1.00", "colour": "#cd7f32"},
        {"name": "Zilver", "threshold": "500", "multiplier": "1.25", "colour": "#c0c0c0"},
        {"name": "", "threshold": "", "multiplier": "1.00", "colour": "#b08d57"}]  # left empty


def test_the_page_is_linked_from_the_dashboard(owner_client, shop):
    page = owner_client.get(reverse("dashboard:overview", args=[shop.slug]))
    assert url(shop) in text(page)
    response = owner_client.get(url(shop))
    assert response.status_code == 200
    assert 'name="tiers-0-name"' in text(response)


def test_preview_counts_and_changes_nothing_then_save_places_members(owner_client, shop):
    for amount in ("15.00", "60.00", "5.00"):  # 150, 600 and 50 points in the ledger
        purchase_record(shop=shop, amount=amount,
                        membership_id=MembershipFactory(shop=shop).pk)
    preview = owner_client.post(url(shop), form(rows=ROWS))
    assert preview.status_code == 200
    assert "2 members move up" in text(preview)
    assert 'value="save"' in text(preview)
    assert not Tier.objects.exists() and not TierProgram.objects.exists()
    assert set(Membership.objects.values_list("level_name", flat=True)) == {""}

    saved = owner_client.post(url(shop), form("save", rows=ROWS))
    assert saved.status_code == 302
    assert sorted(Membership.objects.values_list("level_name", flat=True)) == [
        "", "Brons", "Zilver"]
    page = owner_client.get(url(shop))
    assert "2 members moved up." in text(page)
    assert 'value="Zilver"' in text(page)


def test_raising_a_threshold_previews_who_keeps_a_level(owner_client, shop):
    card = MembershipFactory(shop=shop)
    purchase_record(shop=shop, amount="60.00", membership_id=card.pk)
    levels_set(shop, period="year")
    zilver = Tier.objects.get(shop=shop, name="Zilver")
    rows = [{"id": str(t.pk), "name": t.name, "threshold": str(t.threshold),
             "multiplier": str(t.multiplier), "colour": t.colour}
            for t in Tier.objects.for_shop(shop).order_by("threshold")]
    rows[1]["threshold"] = "700"
    preview = owner_client.post(url(shop), form(rows=rows))
    assert "1 would move down — they keep their level until re-evaluation" in text(preview)
    owner_client.post(url(shop), form("save", rows=rows))
    card.refresh_from_db()
    assert card.level_name == "Zilver"
    zilver.refresh_from_db()
    assert zilver.threshold == 700


@pytest.mark.parametrize(("rows", "extra", "message"), [
    ([{"name": "Brons", "threshold": "abc"}], {}, "enter the threshold as a number"),
    ([{"name": "Brons", "threshold": "100"}, {"name": "brons", "threshold": "200"}], {},
     "the same name"),
    ([{"name": "Brons", "threshold": "100", "multiplier": "20"}], {}, "from 1.00 to 10.00"),
    ([{"name": "Brons", "threshold": "100"}], {"grace_days": "400"},
     "Grace days are a whole number from 0 to 365."),
    ([], {}, "Add at least one level before switching levels on."),
])
def test_bad_input_is_refused_with_our_words_and_nothing_changes(owner_client, shop, rows,
                                                                 extra, message):
    levels_set(shop)
    before = list(Tier.objects.values_list("name", "threshold", "multiplier"))
    for action in ("preview", "save"):
        response = owner_client.post(url(shop), form(action, rows=rows, **extra))
        assert response.status_code == 400
        assert message in text(response)
        assert 'value="save"' not in text(response)
    assert list(Tier.objects.values_list("name", "threshold", "multiplier")) == before


def test_an_unknown_choice_is_refused(owner_client, shop):
    response = owner_client.post(url(shop), form(rows=ROWS, measure="likes"))
    assert response.status_code == 400
    assert not TierProgram.objects.exists()


def test_staff_members_and_other_owners_do_not_reach_it(client, shop, staff_user, member,
                                                        other_owner):
    for user in (staff_user, member.user, other_owner):
        viewer = signed_in(user)
        assert viewer.get(url(shop)).status_code == 404
        assert viewer.post(url(shop), form("save", rows=ROWS)).status_code == 404
    assert client.get(url(shop)).status_code == 302
    assert not TierProgram.objects.exists()


def test_saved_thresholds_come_back_as_typed_and_preview_again(owner_client, shop):
    levels_set(shop, measure="amount", tiers=[{"name": "Brons", "threshold": "1000"},
                                              {"name": "Zilver", "threshold": "42.50"}])
    page = text(owner_client.get(url(shop)))
    assert 'value="1000"' in page and 'value="42.50"' in page
    assert "E+" not in page
