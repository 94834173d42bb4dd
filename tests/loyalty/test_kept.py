"""``loyalty.kept``: a shop's program kept per process — loaded once within the window, again
after it, at once after ``forget``, every time with the window at 0, and per shop."""

from __future__ import annotations

import pytest

from loyalty import kept as kept_module
from loyalty.kept import KeptPerShop
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


def counting():
    loads = []

    def load(*, shop):
        loads.append(shop.pk)
        return f"program of {shop.slug} #{len(loads)}"

    return loads, KeptPerShop(load)


def test_kept_within_the_window_loaded_again_after_it(settings, monkeypatch):
    settings.TROUW_API_KEY_CACHE_SECONDS = 5
    clock = [1000.0]
    monkeypatch.setattr(kept_module.time, "monotonic", lambda: clock[0])
    shop = ShopFactory(slug="noord")
    loads, kept = counting()
    assert kept.get(shop) == kept.get(shop) == "program of noord #1"
    clock[0] += 4.9
    assert kept.get(shop) == "program of noord #1"
    clock[0] += 0.2  # past the five seconds
    assert kept.get(shop) == "program of noord #2"
    assert loads == [shop.pk, shop.pk]


def test_forget_is_seen_at_once_and_shops_are_apart(settings):
    settings.TROUW_API_KEY_CACHE_SECONDS = 5
    noord, zuid = ShopFactory(slug="noord"), ShopFactory(slug="zuid")
    loads, kept = counting()
    assert kept.get(noord).startswith("program of noord")
    assert kept.get(zuid).startswith("program of zuid")
    kept.forget(noord)
    kept.get(noord)
    kept.get(zuid)
    assert loads == [noord.pk, zuid.pk, noord.pk]
    kept.forget_all()
    kept.get(zuid)
    assert loads[-1] == zuid.pk and len(loads) == 4


def test_a_window_of_zero_loads_every_time(settings):
    settings.TROUW_API_KEY_CACHE_SECONDS = 0
    shop = ShopFactory()
    loads, kept = counting()
    kept.get(shop)
    kept.get(shop)
    assert len(loads) == 2
