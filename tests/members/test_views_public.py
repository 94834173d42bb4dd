"""A shop's public page (members/views/public.py), where customers join.

The shop of the ``shop`` fixture speaks Dutch, and a visitor without a language cookie sees its
page in Dutch; expected messages are therefore looked up in the Dutch catalog (``nl``)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext
from pytest_django.asserts import assertRedirects

from loyalty.models import Membership, MembershipSource, User
from tests.factories import PASSWORD, MembershipFactory, ShopFactory, UserFactory
from tests.helpers import text

pytestmark = pytest.mark.django_db


def nl(message: str, **params) -> str:
    """``message`` as the Dutch page shows it (HTML-escaped)."""
    with translation.override("nl"):
        translated = gettext(message)
    return escape(translated % params if params else translated)


@pytest.fixture
def page_url(shop):
    return f"/s/{shop.slug}/"


def join_data(**overrides):
    data = {"name": "Fenna Bos", "email": "fenna@example.com", "phone": "", "birthday": "",
            "password": PASSWORD}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def consent_input(content: str) -> str:
    match = re.search(r'<input[^>]*name="marketing_consent"[^>]*>', content)
    assert match, "no consent checkbox"
    return match.group(0)


# --- the page --------------------------------------------------------------------------------


def test_page_shows_the_join_form(client, page_url, shop):
    response = client.get(page_url)
    assert response.status_code == 200
    content = text(response)
    assert escape(shop.name) in content
    for field in ("name", "email", "phone", "birthday", "password"):
        assert f'name="{field}"' in content
    box = consent_input(content)
    assert 'type="checkbox"' in box
    assert "checked" not in box
    assert f"/accounts/login/?next={page_url}" in content  # "already have a login? sign in"


def test_unknown_shop_is_404(client):
    assert client.get("/s/no-such-shop/").status_code == 404
    assert client.post("/s/no-such-shop/", join_data()).status_code == 404
    assert not Membership.objects.exists()


def test_page_is_in_the_shops_language(client, page_url, shop):
    with translation.override("nl"):
        heading = gettext("Join the loyalty program of %(shop)s") % {"shop": shop.name}
    assert heading != f"Join the loyalty program of {shop.name}", "no Dutch catalog"

    response = client.get(page_url, headers={"Accept-Language": "en"})

    assert response["Content-Language"] == "nl"
    content = text(response)
    assert '<html lang="nl">' in content
    assert escape(heading) in content
    assert nl("Join") in content


def test_a_visitors_explicit_language_wins(client, page_url, shop):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(page_url)
    assert response["Content-Language"] == "en"
    assert escape(f"Join the loyalty program of {shop.name}") in text(response)


def test_page_refuses_other_methods(client, page_url):
    assert client.put(page_url).status_code == 405


# --- joining ---------------------------------------------------------------------------------


def test_join_with_email_and_password(client, page_url, shop):
    response = client.post(page_url, join_data())

    assert response.status_code == 302
    assert response["Location"] == f"/portal/{shop.slug}/"
    user = User.objects.get(email="fenna@example.com")
    assert user.check_password(PASSWORD)
    membership = Membership.objects.get(shop=shop)
    assert membership.user == user
    assert membership.name == "Fenna Bos"
    assert membership.email == "fenna@example.com"
    assert membership.language == "nl"
    assert membership.source == MembershipSource.PUBLIC_PAGE
    assert membership.marketing_consent is False
    assert str(client.session[SESSION_KEY]) == str(user.pk)
    card = client.get(response["Location"])
    assert card.status_code == 200
    assert membership.card_number_display in text(card)


def test_join_records_consent_only_when_ticked(client, page_url, shop):
    before = timezone.now()
    client.post(page_url, join_data(marketing_consent="on"))
    membership = Membership.objects.get(shop=shop)
    assert membership.marketing_consent is True
    assert membership.marketing_consent_at >= before


def test_join_takes_the_visitors_chosen_language(client, page_url, shop):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "sv"
    client.post(page_url, join_data())
    assert Membership.objects.get(shop=shop).language == "sv"


def joined_url(shop) -> str:
    return f"/s/{shop.slug}/joined/"


def test_join_with_a_phone_number_only(client, page_url, shop):
    users_before = User.objects.count()

    response = client.post(page_url, join_data(email="", password="", phone="06 1234 5678",
                                               birthday="1990-05-17"))

    assertRedirects(response, joined_url(shop), fetch_redirect_response=False)
    membership = Membership.objects.get(shop=shop)
    assert membership.user is None
    assert membership.phone == "+31612345678"
    assert membership.birthday == dt.date(1990, 5, 17)
    assert membership.language == "nl"
    assert User.objects.count() == users_before
    assert SESSION_KEY not in client.session

    page = client.get(response["Location"])
    assert page.status_code == 200
    content = text(page)
    assert membership.card_number_display in content
    assert '<html lang="nl">' in content
    assert nl("Welcome to %(shop)s!", shop=shop.name) in content


def test_refreshing_the_welcome_page_does_not_join_again(client, page_url, shop):
    """POST, redirect, GET: the browser's refresh repeats the GET, never the join."""
    response = client.post(page_url, join_data(email="", password="", phone="0612345678"),
                           follow=True)
    assert response.redirect_chain == [(joined_url(shop), 302)]
    membership = Membership.objects.get(shop=shop)

    for _refresh in range(2):
        again = client.get(joined_url(shop))
        assert again.status_code == 200
        assert membership.card_number_display in text(again)
    assert list(Membership.objects.filter(shop=shop)) == [membership]


def test_the_welcome_page_shows_no_card_to_anyone_else(client, page_url, shop):
    client.post(page_url, join_data(email="", password="", phone="0612345678"))
    membership = Membership.objects.get(shop=shop)

    stranger = Client()
    response = stranger.get(joined_url(shop))

    assertRedirects(response, page_url, fetch_redirect_response=False)
    assert membership.card_number_display not in text(response)
    # Nor at another shop's page, from the browser that joined.
    other = ShopFactory()
    response = client.get(joined_url(other))
    assertRedirects(response, f"/s/{other.slug}/", fetch_redirect_response=False)


def test_the_welcome_page_is_shown_for_a_while_only(client, page_url, shop):
    with time_machine.travel(dt.datetime(2030, 5, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        client.post(page_url, join_data(email="", password="", phone="0612345678"))
    with time_machine.travel(dt.datetime(2030, 5, 1, 12, 29, tzinfo=dt.UTC), tick=False):
        assert client.get(joined_url(shop)).status_code == 200
    with time_machine.travel(dt.datetime(2030, 5, 1, 12, 31, tzinfo=dt.UTC), tick=False):
        response = client.get(joined_url(shop))
    assertRedirects(response, page_url, fetch_redirect_response=False)


def test_the_welcome_page_of_an_unknown_shop_is_404(client):
    assert client.get("/s/no-such-shop/joined/").status_code == 404


def test_the_welcome_page_takes_no_post(client, page_url, shop):
    client.post(page_url, join_data(email="", password="", phone="0612345678"))
    assert client.post(joined_url(shop)).status_code == 405
    assert Membership.objects.filter(shop=shop).count() == 1


@pytest.mark.parametrize("overrides, field, message", [
    ({"name": ""}, "name", "This field is required."),
    ({"name": "   "}, "name", "This field is required."),
    ({"email": "not-an-address"}, "email", "Enter a valid email address."),
    ({"email": "", "phone": "", "password": ""}, "email",
     "Enter an e-mail address or a phone number."),
    ({"email": "", "password": "", "phone": "call me"}, "phone",
     "Enter a phone number with digits only."),
    ({"email": "", "password": "", "phone": "123"}, "phone",
     "That is not a phone number we can call: check the digits. A number from another country "
     "starts with + and its country code."),
    ({"birthday": "2999-01-01"}, "birthday", "The birthday cannot be in the future."),
    ({"birthday": "1850-01-01"}, "birthday", "Enter a birthday after 1900."),
    ({"birthday": "31-31-1990"}, "birthday", "Enter a valid date."),
    ({"password": "12345678"}, "password", "This password is entirely numeric."),
    ({"password": ""}, "password", "Choose a password for your member portal."),
])
def test_bad_input_is_refused_and_nothing_is_created(client, page_url, shop, overrides, field,
                                                     message):
    users_before = User.objects.count()

    response = client.post(page_url, join_data(**overrides))

    assert response.status_code == 400
    content = text(response)
    assert f'id="id_{field}_error"' in content
    assert nl(message) in content
    assert not Membership.objects.exists()
    assert User.objects.count() == users_before
    assert SESSION_KEY not in client.session


def test_future_birthday_is_refused_for_phone_only_too(client, page_url, shop):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    response = client.post(page_url, join_data(email="", password="", phone="0612345678",
                                               birthday=tomorrow.isoformat()))
    assert response.status_code == 400
    assert nl("The birthday cannot be in the future.") in text(response)
    assert not Membership.objects.exists()


def test_weak_password_shows_the_validator_message(client, page_url, shop):
    response = client.post(page_url, join_data(password="abc"))
    assert response.status_code == 400
    assert 'id="id_password_error"' in text(response)
    assert not User.objects.filter(email="fenna@example.com").exists()
    assert not Membership.objects.exists()


def test_email_with_an_existing_login_must_sign_in_first(client, page_url, shop):
    UserFactory(email="fenna@example.com")
    response = client.post(page_url, join_data(email="Fenna@Example.com"))
    assert response.status_code == 400
    assert nl("You already have a Trouw login with this address. Sign in first, then join.") \
        in text(response)
    assert not Membership.objects.exists()
    assert User.objects.filter(email__iexact="fenna@example.com").count() == 1
    assert SESSION_KEY not in client.session


def test_email_of_an_existing_member_creates_no_login(client, page_url, shop):
    MembershipFactory(shop=shop, email="fenna@example.com", name="Fenna (counter)")
    response = client.post(page_url, join_data())
    assert response.status_code == 400
    assert 'id="id_email_error"' in text(response)
    assert Membership.objects.filter(shop=shop).count() == 1
    assert not User.objects.filter(email="fenna@example.com").exists()
    assert SESSION_KEY not in client.session


def test_phone_of_an_existing_member_is_refused(client, page_url, shop):
    MembershipFactory(shop=shop, phone="+31612345678")
    response = client.post(page_url, join_data(email="", password="", phone="06-12345678"))
    assert response.status_code == 400
    assert 'id="id_phone_error"' in text(response)
    assert Membership.objects.filter(shop=shop).count() == 1


def test_the_same_email_may_join_another_shop(client, page_url, shop):
    other = ShopFactory()
    MembershipFactory(shop=other, email="fenna@example.com")
    response = client.post(page_url, join_data())
    assert response.status_code == 302
    assert Membership.objects.filter(shop=shop, email="fenna@example.com").exists()


# --- signed in -------------------------------------------------------------------------------


@pytest.fixture
def visitor(client):
    user = UserFactory(email="visitor@example.com", name="Vera Visser")
    client.force_login(user)
    return user


def test_signed_in_form_has_no_email_or_password(client, visitor, page_url):
    response = client.get(page_url)
    assert response.status_code == 200
    content = text(response)
    assert 'name="name"' in content
    assert 'value="Vera Visser"' in content
    assert 'name="email"' not in content
    assert 'name="password"' not in content


def test_signed_in_user_joins_with_their_login(client, visitor, page_url, shop):
    response = client.post(page_url, {"name": "Vera Visser", "phone": "0611111111",
                                      "email": "ignored@example.com", "password": "x"})

    assert response.status_code == 302
    assert response["Location"] == f"/portal/{shop.slug}/"
    membership = Membership.objects.get(shop=shop)
    assert membership.user == visitor
    assert membership.email == "visitor@example.com"
    assert membership.phone == "+31611111111"
    assert not User.objects.filter(email="ignored@example.com").exists()
    assert client.get(response["Location"]).status_code == 200


def test_signed_in_user_without_a_name_is_refused(client, visitor, page_url, shop):
    response = client.post(page_url, {"name": ""})
    assert response.status_code == 400
    assert 'id="id_name_error"' in text(response)
    assert not Membership.objects.exists()


def test_signed_in_user_whose_email_is_already_a_card_gets_a_message(client, visitor, page_url,
                                                                      shop):
    MembershipFactory(shop=shop, email="visitor@example.com", name="Vera (counter)")
    response = client.post(page_url, {"name": "Vera Visser"})
    assert response.status_code == 400
    content = text(response)
    assert "form-errors" in content  # the e-mail field is not on this form: a form-wide error
    with translation.override("nl"):
        expected = gettext("There is already a member with this %(what)s at %(shop)s.") % {
            "what": gettext("e-mail address"), "shop": shop.name}
    assert escape(expected) in content
    assert Membership.objects.filter(shop=shop).count() == 1
    assert not Membership.objects.filter(user=visitor).exists()


def test_a_member_sees_a_link_to_their_card(member_client, page_url, shop):
    response = member_client.get(page_url)
    assert response.status_code == 200
    content = text(response)
    assert nl("You are a member already.") in content
    assert f'href="/portal/{shop.slug}/"' in content
    assert 'name="name"' not in content  # no join form


def test_a_member_posting_again_creates_nothing(member_client, page_url, shop, member):
    response = member_client.post(page_url, {"name": "Second card", "phone": "0699999999"})
    assert response.status_code == 200
    assert nl("You are a member already.") in text(response)
    assert list(Membership.objects.filter(shop=shop)) == [member]
