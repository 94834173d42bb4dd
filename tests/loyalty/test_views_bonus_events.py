"""The owner's bonus-point events page (dashboard → Bonus points): add, change and remove
events, choose how bonuses combine; every change a new version of the rules; bad input says
what to fix and saves nothing. Members see the events on now and coming on the portal's "How it
works" and the public page, and the history says what an event gave."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.urls import reverse

from loyalty import services
from loyalty.models import ProgramRules
from tests.helpers import text

pytestmark = pytest.mark.django_db
AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")
TUESDAY = dt.datetime(2026, 12, 1, 12, tzinfo=AMS)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(TUESDAY, tick=False):
        yield


def url(shop):
    return reverse("dashboard:bonus_events", args=[shop.slug])


def event_post(**changes):
    data = {"action": "save", "name": "Dubbele punten-dinsdag", "kind": "multiplier",
            "value": "2", "weekdays": ["1"], "starts_on": "", "ends_on": "", "from_hour": "",
            "to_hour": "", "categories": ""}
    data.update(changes)
    return data


def in_force(shop):
    shop.refresh_from_db()
    return shop.current_rules


def test_the_owner_adds_a_double_points_day_and_sees_it_on(owner_client, shop):
    response = owner_client.post(url(shop), event_post(), follow=True)
    content = text(response)
    assert "Saved: Dubbele punten-dinsdag, ×2 points · Tuesday." in content
    assert "On now" in content
    assert in_force(shop).bonus_events == [{"name": "Dubbele punten-dinsdag",
                                            "kind": "multiplier", "value": "2",
                                            "weekdays": [1]}]


def test_a_dutch_multiplier_with_a_comma_and_hours_and_dates(owner_client, shop):
    owner_client.post(url(shop), event_post(name="Happy hour", value="1,5", weekdays=[],
                                            from_hour="16", to_hour="18",
                                            starts_on="2026-12-20", ends_on="2026-12-24",
                                            categories="Koffie, Thee"))
    event = in_force(shop).bonus_events[0]
    assert event == {"name": "Happy hour", "kind": "multiplier", "value": "1.5",
                     "starts_on": "2026-12-20", "ends_on": "2026-12-24", "from_hour": 16,
                     "to_hour": 18, "categories": ["Koffie", "Thee"]}
    content = text(owner_client.get(url(shop)))
    assert "From 20 December" in content
    assert "×1.5 points · 16:00–18:00 · 20 December 2026 – 24 December 2026 · on Koffie, Thee" \
        in content


@pytest.mark.parametrize(("changes", "message"), [
    ({"value": "1"}, "The multiplier must be above 1 and at most 10."),
    ({"value": "twee"}, "Enter a multiplier such as 2 or 1.5."),
    ({"kind": "extra", "value": "0"},
     "Enter the extra points as a whole number from 1 to 1,000,000."),
    ({"starts_on": "2026-12-24", "ends_on": "2026-12-01"}, "The last day is before the first."),
    ({"from_hour": "18", "to_hour": "16"}, "The hours must end after they start."),
    ({"name": ""}, "Give the event a name."),
    ({"weekdays": ["9"]}, "Choose weekdays from Monday to Sunday."),
])
def test_bad_input_says_what_to_fix_and_saves_nothing(owner_client, shop, changes, message):
    services.program_rules_current(shop=shop)
    before = ProgramRules.objects.filter(shop=shop).count()
    response = owner_client.post(url(shop), event_post(**changes))
    assert response.status_code == 400
    assert message in text(response)
    assert ProgramRules.objects.filter(shop=shop).count() == before


def test_two_events_may_not_share_a_name(owner_client, shop):
    owner_client.post(url(shop), event_post())
    response = owner_client.post(url(shop), event_post(kind="extra", value="50"))
    assert "Two events have the same name." in text(response)
    assert len(in_force(shop).bonus_events) == 1


def test_changing_an_event_keeps_the_others_and_makes_a_new_version(owner_client, shop):
    owner_client.post(url(shop), event_post())
    owner_client.post(url(shop), event_post(name="Kerst", kind="extra", value="25",
                                            weekdays=[]))
    version = in_force(shop).version
    form = text(owner_client.get(url(shop) + "?edit=Kerst"))
    assert "Change “Kerst”" in form
    assert 'value="25"' in form
    owner_client.post(url(shop), event_post(original_name="Kerst", name="Kerstmis",
                                            kind="extra", value="30", weekdays=[]))
    rules = in_force(shop)
    assert rules.version == version + 1
    assert [e["name"] for e in rules.bonus_events] == ["Dubbele punten-dinsdag", "Kerstmis"]
    assert rules.bonus_events[1]["value"] == 30


def test_removing_asks_first_and_then_removes_it(owner_client, shop):
    owner_client.post(url(shop), event_post())
    content = text(owner_client.get(url(shop)))
    assert "Remove “Dubbele punten-dinsdag”? Purchases from now on get no bonus from it" in \
        content
    response = owner_client.post(url(shop), {"action": "remove",
                                             "name": "Dubbele punten-dinsdag"}, follow=True)
    assert "is removed: it gives no more bonus points from now on." in text(response)
    assert in_force(shop).bonus_events == []


def test_the_owner_chooses_best_of(owner_client, shop):
    owner_client.post(url(shop), {"action": "combine", "bonus_combine": "best"})
    assert in_force(shop).bonus_combine == "best"
    response = owner_client.post(url(shop), {"action": "combine", "bonus_combine": "most"})
    assert response.status_code == 400
    assert "Choose stack or best of." in text(response)
    assert in_force(shop).bonus_combine == "best"


def test_staff_cannot_change_events(staff_client, shop):
    assert staff_client.post(url(shop), event_post()).status_code in (302, 403, 404)
    assert in_force(shop) is None or in_force(shop).bonus_events == []


def test_the_page_speaks_dutch(owner_client, shop):
    owner_client.cookies["django_language"] = "nl"
    owner_client.post(url(shop), event_post())
    content = text(owner_client.get(url(shop)))
    assert "dinsdag" in content  # the weekday in the page's language


def test_members_see_the_events_on_now_and_coming_and_the_history_names_them(
        owner_client, shop, member, client):
    owner_client.post(url(shop), event_post())
    owner_client.post(url(shop), event_post(name="Oud", kind="extra", value="5", weekdays=[],
                                            starts_on="2026-11-01", ends_on="2026-11-30"))
    from django.test import Client

    public = text(Client().get(reverse("shop_page", args=[shop.slug])))
    assert "Dubbele punten-dinsdag" in public
    assert "Oud" not in public  # ended: not shown to members
    services.purchase_record(shop=shop, amount="27.00", membership_id=member.pk)
    client.force_login(member.user)
    how = text(client.get(reverse("portal:how_it_works", args=[shop.slug])))
    assert "Dubbele punten-dinsdag" in how and "On now" in how
    card = text(client.get(reverse("portal:card", args=[shop.slug])))
    assert "+540" in card
    assert "of which +270 for Dubbele punten-dinsdag" in card


COMING = {"name": "Kerstweek", "kind": "multiplier", "value": "3", "starts_on": "2026-12-20",
          "ends_on": "2026-12-24"}
OVER = {"name": "Sinterklaas", "kind": "extra", "value": 25, "starts_on": "2026-11-20",
        "ends_on": "2026-11-30"}


def _announced(content: str) -> None:
    """The coming event with its first day, and nothing of the one whose days are over."""
    assert "Kerstweek" in content
    assert "From 20 December" in content
    assert "×3 points · 20 December 2026 – 24 December 2026" in content
    assert "Sinterklaas" not in content


def test_the_portal_announces_a_coming_event_and_not_one_that_is_over(member_client, shop):
    services.program_rules_update(shop=shop, by=None, bonus_events=[OVER, COMING])
    response = member_client.get(reverse("portal:how_it_works", args=[shop.slug]))
    assert response.status_code == 200
    content = text(response)
    _announced(content)
    assert "On now" not in content  # nothing is on yet


def test_the_public_page_announces_a_coming_event_and_not_one_that_is_over(client, shop):
    services.program_rules_update(shop=shop, by=None, bonus_events=[OVER, COMING])
    # In the shop's language (Dutch) unless the visitor chose one.
    dutch = text(client.get(reverse("shop_page", args=[shop.slug])))
    assert "Kerstweek" in dutch and "Vanaf 20 december" in dutch
    assert "×3 punten · 20 december 2026 – 24 december 2026" in dutch
    assert "Sinterklaas" not in dutch
    client.cookies["django_language"] = "en"
    response = client.get(reverse("shop_page", args=[shop.slug]))
    assert response.status_code == 200
    _announced(text(response))


def test_a_coming_event_is_on_from_its_first_day_and_gone_after_its_last(client, shop):
    services.program_rules_update(shop=shop, by=None, bonus_events=[COMING])
    client.cookies["django_language"] = "en"
    page = reverse("shop_page", args=[shop.slug])
    with time_machine.travel(dt.datetime(2026, 12, 19, 23, 59, tzinfo=AMS), tick=False):
        assert "From 20 December" in text(client.get(page))
    with time_machine.travel(dt.datetime(2026, 12, 20, 0, 0, tzinfo=AMS), tick=False):
        content = text(client.get(page))
        assert "Kerstweek" in content and "On now" in content
        assert "From 20 December" not in content
    with time_machine.travel(dt.datetime(2026, 12, 25, 0, 0, tzinfo=AMS), tick=False):
        assert "Kerstweek" not in text(client.get(page))


def test_with_only_an_event_that_is_over_there_is_no_bonus_panel(member_client, shop):
    services.program_rules_update(shop=shop, by=None, bonus_events=[OVER])
    for page in (reverse("portal:how_it_works", args=[shop.slug]),
                 reverse("shop_page", args=[shop.slug])):
        content = text(member_client.get(page))
        assert "Sinterklaas" not in content
        assert "bonus-events-shown" not in content
