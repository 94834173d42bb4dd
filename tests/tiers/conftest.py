"""Fixtures for levels: a shop with Brons, Zilver and Goud on points earned, and a helper to
set up any other program through the services."""

from __future__ import annotations

import pytest

from tiers import selectors, services
from tiers.badges import selectors as badge_selectors


@pytest.fixture(autouse=True)
def _fresh_program_cache():
    selectors.program_forget_all()
    badge_selectors.badges_forget_all()
    yield
    selectors.program_forget_all()
    badge_selectors.badges_forget_all()


THREE = [
    {"name": "Brons", "colour": "#cd7f32", "threshold": "100", "multiplier": "1.00",
     "perks": "A coffee on your birthday"},
    {"name": "Zilver", "colour": "#c0c0c0", "threshold": "500", "multiplier": "1.25"},
    {"name": "Goud", "colour": "#ffd700", "threshold": "1000", "multiplier": "1.50",
     "perks": "Free delivery"},
]


def levels_set(shop, *, measure="points", period="lifetime", tiers=None, enabled=True,
               downgrade="one", grace_days=0, now=None):
    data = services.program_input_clean(
        enabled=enabled, measure=measure, period=period, downgrade=downgrade,
        grace_days=grace_days, tiers=THREE if tiers is None else tiers)
    return services.program_save(shop=shop, data=data, now=now)


def reached(name: str, shop, language: str | None = None) -> str:
    """ "You reached Zilver!" as the purchase's news says it (the shop's language) or a page in
    ``language`` does."""
    return services.level_up_text(name=name, language=language or shop.language)


@pytest.fixture
def levels(shop):
    levels_set(shop)
    return shop
