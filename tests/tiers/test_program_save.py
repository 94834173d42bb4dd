"""Changing the levels never surprises members: the preview's counts are what the save does;
members are placed by their history when levels are first switched on; nobody loses a level
at a change (they keep it until re-evaluation)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from loyalty.models import Membership
from loyalty.services import purchase_record
from tests.factories import MembershipFactory
from tiers import services
from tiers.models import ChangeReason, LevelChange, Tier, TierState

from .conftest import THREE

pytestmark = pytest.mark.django_db


def data_for(tiers, enabled=True, measure="points", period="lifetime"):
    return services.program_input_clean(enabled=enabled, measure=measure, period=period,
                                        downgrade="one", grace_days=0, tiers=tiers)


def with_ids(shop, changes: dict, extra=()):
    """The shop's tiers as the form sends them, with ``changes`` by name, plus ``extra``."""
    rows = []
    for tier in Tier.objects.for_shop(shop).order_by("threshold"):
        row = {"id": tier.pk, "name": tier.name, "colour": tier.colour,
               "threshold": str(tier.threshold), "multiplier": str(tier.multiplier),
               "perks": tier.perks}
        if changes.get(tier.name) == "remove":
            continue
        row.update(changes.get(tier.name, {}))
        rows.append(row)
    return rows + list(extra)


def levels(shop):
    return dict(Membership.objects.filter(shop=shop).values_list("name", "level_name"))


@pytest.fixture
def history(shop):
    """Members with points already in the ledger before levels exist: 150, 600, 1,200, 50."""
    cards = {}
    for name, amount in (("Anna", "15.00"), ("Bram", "60.00"), ("Cor", "120.00"),
                         ("Dirk", "5.00")):
        cards[name] = MembershipFactory(shop=shop, name=name)
        purchase_record(shop=shop, amount=amount, membership_id=cards[name].pk)
    return cards


def test_switching_on_places_members_by_their_history(shop, history):
    data = data_for(THREE)
    preview = services.program_preview(shop=shop, data=data)
    assert (preview["up"], preview["down_kept"], preview["same"], preview["members"]) == (
        3, 0, 1, 4)
    assert levels(shop) == {"Anna": "", "Bram": "", "Cor": "", "Dirk": ""}  # nothing yet

    counts = services.program_save(shop=shop, data=data)
    assert counts["up"] == 3
    assert levels(shop) == {"Anna": "Brons", "Bram": "Zilver", "Cor": "Goud", "Dirk": ""}
    cor = Membership.objects.get(name="Cor")
    assert (cor.level_rank, cor.level_multiplier, cor.level_colour) == (3, Decimal("1.50"),
                                                                       "#ffd700")
    assert set(LevelChange.objects.values_list("reason", flat=True)) == {ChangeReason.PROGRAM}
    assert LevelChange.objects.count() == 3


def test_higher_thresholds_keep_everyone_where_they_are(shop, history):
    services.program_save(shop=shop, data=data_for(THREE))
    harder = data_for(with_ids(shop, {"Brons": {"threshold": "200"},
                                      "Zilver": {"threshold": "700"}},
                                  extra=[{"name": "Koper", "threshold": "50"}]))
    preview = services.program_preview(shop=shop, data=harder)
    # Anna (150 < 200) and Bram (600 < 700) would move down: they keep their level; Dirk
    # (50) reaches the new Koper.
    assert (preview["up"], preview["down_kept"], preview["same"]) == (1, 2, 1)

    counts = services.program_save(shop=shop, data=harder)
    assert (counts["up"], counts["down_kept"]) == (1, 2)
    assert levels(shop) == {"Anna": "Brons", "Bram": "Zilver", "Cor": "Goud", "Dirk": "Koper"}
    # Koper is the lowest now: every card's rank follows the new order.
    assert dict(Membership.objects.filter(shop=shop).values_list("name", "level_rank")) == {
        "Anna": 2, "Bram": 3, "Cor": 4, "Dirk": 1}


def test_a_removed_level_moves_its_members_to_the_level_below(shop, history):
    services.program_save(shop=shop, data=data_for(THREE))
    fewer = data_for(with_ids(shop, {"Zilver": "remove"}))
    preview = services.program_preview(shop=shop, data=fewer)
    assert preview["moved"] == 1
    services.program_save(shop=shop, data=fewer)
    assert levels(shop)["Bram"] == "Brons"
    assert not Tier.objects.filter(name="Zilver").exists()
    assert TierState.objects.get(membership__name="Bram").tier.name == "Brons"


def test_swapping_names_and_thresholds_saves(shop, history):
    services.program_save(shop=shop, data=data_for(THREE))
    swapped = data_for(with_ids(shop, {"Brons": {"name": "Zilver", "threshold": "500"},
                                       "Zilver": {"name": "Brons", "threshold": "100"}}))
    services.program_save(shop=shop, data=swapped)
    assert list(Tier.objects.for_shop(shop).order_by("threshold")
                .values_list("name", flat=True)) == ["Brons", "Zilver", "Goud"]


def test_switching_off_hides_levels_and_switching_on_brings_them_back(shop, history):
    services.program_save(shop=shop, data=data_for(THREE))
    off = data_for(with_ids(shop, {}), enabled=False)
    assert services.program_preview(shop=shop, data=off)["holding"] == 3
    services.program_save(shop=shop, data=off)
    assert set(levels(shop).values()) == {""}
    assert set(Membership.objects.values_list("level_multiplier", flat=True)) == {
        Decimal("1.00")}
    bram = Membership.objects.get(name="Bram")
    purchase_record(shop=shop, amount="10.00", membership_id=bram.pk)  # no level: no change
    assert levels(shop)["Bram"] == ""
    services.program_save(shop=shop, data=data_for(with_ids(shop, {})))
    assert levels(shop) == {"Anna": "Brons", "Bram": "Zilver", "Cor": "Goud", "Dirk": ""}


def test_a_tier_of_another_shop_cannot_be_named(shop, other_shop, history):
    services.program_save(shop=other_shop, data=data_for(THREE))
    theirs = Tier.objects.for_shop(other_shop).first()
    data = data_for([{"id": theirs.pk, "name": "Overgenomen", "threshold": "10"}])
    with pytest.raises(ValidationError):
        services.program_preview(shop=shop, data=data)
    with pytest.raises(ValidationError):
        services.program_save(shop=shop, data=data)
    assert Tier.objects.get(pk=theirs.pk).name == theirs.name
    assert not Tier.objects.for_shop(shop).exists()
