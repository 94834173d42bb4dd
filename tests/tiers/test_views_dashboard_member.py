"""The levels part of the dashboard's member page: the level, the owner's manual level (with
a reason and an end date; bad input refused, nothing changed) and the log."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from loyalty.models import Membership
from loyalty.services import purchase_record
from tests.helpers import signed_in, text
from tiers.models import LevelChange, Tier

pytestmark = pytest.mark.django_db


def url(shop, card) -> str:
    return reverse("tiers_member_level", args=[shop.slug, card.card_number])


def test_the_member_page_loads_the_level_panel(owner_client, levels, member):
    page = owner_client.get(reverse("dashboard:member", args=[levels.slug, member.card_number]))
    assert url(levels, member) in text(page)
    purchase_record(shop=levels, amount="60.00", membership_id=member.pk)
    panel = owner_client.get(url(levels, member))
    assert "Now: <strong>Zilver</strong>" in text(panel)
    assert "→ Zilver · Purchase" in text(panel)


def test_the_owner_sets_a_level_by_hand(owner_client, levels, member):
    goud = Tier.objects.get(shop=levels, name="Goud")
    until = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    response = owner_client.post(url(levels, member), {"tier": goud.pk, "reason": "Ambassador",
                                                       "until": until})
    assert response.status_code == 302
    card = Membership.objects.get(pk=member.pk)
    assert (card.level_name, card.level_rank) == ("Goud", 3)
    panel = text(owner_client.get(url(levels, member)))
    assert "set by hand until" in panel and "Ambassador" in panel


def test_a_manual_level_without_reason_changes_nothing(owner_client, levels, member):
    goud = Tier.objects.get(shop=levels, name="Goud")
    response = owner_client.post(url(levels, member), {"tier": goud.pk, "reason": "",
                                                       "until": "2030-01-01"}, follow=True)
    assert "Why:" in text(response)  # the field's own message, after its label
    assert Membership.objects.get(pk=member.pk).level_name == ""
    assert not LevelChange.objects.exists()


def test_only_the_owner_reaches_it(levels, member, staff_user, other_owner):
    for user in (staff_user, member.user, other_owner):
        viewer = signed_in(user)
        assert viewer.get(url(levels, member)).status_code == 404
        assert viewer.post(url(levels, member), {"reason": "x",
                                                 "until": "2030-01-01"}).status_code == 404
    assert not LevelChange.objects.exists()
