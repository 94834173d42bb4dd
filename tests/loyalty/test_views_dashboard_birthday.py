"""The owner's birthday gift page: the sentence in the owner's words, saving as new rules, bad
input refused with nothing changed, only the shop's owner."""

from __future__ import annotations

import pytest
from django.urls import reverse

from loyalty import services
from loyalty.models import ProgramRules
from tests.factories import UserFactory


def url(shop):
    return reverse("dashboard:birthday", args=[shop.slug])


def test_the_page_shows_the_gift_in_words(owner_client, shop):
    page = owner_client.get(url(shop)).content.decode()
    assert "Members get no birthday gift." in page
    assert 'name="birthday_points"' in page and 'value="before"' in page
    assert f'href="{url(shop)}" aria-current="page"' in page  # in the menu
    services.program_rules_update(shop=shop, by=None, birthday_points=250,
                                  birthday_window="before", birthday_days_before=7)
    page = owner_client.get(url(shop)).content.decode()
    assert "Members get 250 points from 7 days before their birthday, from 06:00." in page


def test_saving_makes_new_rules(owner_client, owner, shop):
    response = owner_client.post(url(shop), {"birthday_points": "1.000",
                                             "birthday_window": "before",
                                             "birthday_days_before": "7"})
    assert response.status_code == 302 and response["Location"] == url(shop)
    rules = services.program_rules_current(shop=shop)
    assert (rules.birthday_points, rules.birthday_window, rules.birthday_days_before,
            rules.created_by) == (1000, "before", 7, owner)
    page = owner_client.get(url(shop)).content.decode()
    assert "Birthday gift saved." in page
    assert "Members get 1,000 points from 7 days before their birthday" in page
    again = owner_client.post(url(shop), {"birthday_points": "1000", "birthday_window": "before",
                                          "birthday_days_before": "7"}, follow=True)
    assert "Nothing changed." in again.content.decode()


@pytest.mark.parametrize(("data", "message"), [
    ({"birthday_points": "lots", "birthday_window": "day"}, "Enter a whole number of points"),
    ({"birthday_points": "-5", "birthday_window": "day"}, "Enter a whole number from 0 to"),
    ({"birthday_points": "250", "birthday_window": "year"}, "Choose when the birthday gift"),
    ({"birthday_points": "250"}, "Choose when the birthday gift"),
    ({"birthday_points": "250", "birthday_window": "before", "birthday_days_before": ""},
     "Enter 1 to 31 days."),
    ({"birthday_points": "250", "birthday_window": "before", "birthday_days_before": "40"},
     "Enter 1 to 31 days."),
])
def test_bad_input_is_refused_and_nothing_changes(owner_client, shop, data, message):
    response = owner_client.post(url(shop), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    # At most the defaults were stored as version 1 (the rules service does that for a shop
    # that never saved any); no birthday gift.
    assert list(ProgramRules.objects.filter(shop=shop).values_list(
        "version", "birthday_points", "birthday_window")) in ([], [(1, 0, "day")])


def test_only_the_owner_of_the_shop(client, shop, staff_client, other_owner):
    assert staff_client.get(url(shop)).status_code in (403, 404)
    assert staff_client.post(url(shop), {"birthday_points": "9",
                                         "birthday_window": "day"}).status_code in (403, 404)
    client.force_login(other_owner)
    assert client.get(url(shop)).status_code == 404
    client.logout()
    assert client.get(url(shop)).status_code == 302  # to sign in
    client.force_login(UserFactory())
    assert client.post(url(shop), {"birthday_points": "9",
                                   "birthday_window": "day"}).status_code == 404
    assert services.program_rules_current(shop=shop).birthday_points == 0


def test_wrong_method(owner_client, shop):
    assert owner_client.delete(url(shop)).status_code == 405
