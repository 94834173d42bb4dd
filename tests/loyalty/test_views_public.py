"""The public pages of loyalty/views/public.py: the landing page, /start/ routing, the health
check and the staff invitation link."""

from __future__ import annotations

import datetime as dt
from unittest import mock
from urllib.parse import quote

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.db import OperationalError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from pytest_django.asserts import assertRedirects

from loyalty.models import InvitationStatus, StaffInvitation, StaffMember, StaffRole, User
from loyalty.services import staff_invitation_token
from tests.factories import (
    PASSWORD,
    MembershipFactory,
    OwnerFactory,
    ShopFactory,
    StaffInvitationFactory,
    StaffMemberFactory,
    UserFactory,
)
from tests.helpers import signed_in

pytestmark = pytest.mark.django_db

INVITEE = "nieuw@noord.example"
LOGIN_URL = "/accounts/login/"


def assert_login_redirect(response, path):
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN_URL}?next={quote(path)}"


# --- home ------------------------------------------------------------------------------------


def test_home_is_public(client):
    response = client.get("/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "A loyalty program your regulars will love" in content
    assert reverse("account_signup") in content
    assert reverse("account_login") in content


def test_home_sends_a_signed_in_user_to_start(owner_client):
    response = owner_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/start/"


# --- /start/ ---------------------------------------------------------------------------------


def test_start_sends_an_owner_to_the_dashboard(owner_client, shop):
    response = owner_client.get("/start/")
    assertRedirects(response, "/dashboard/", target_status_code=302)
    # ... which opens the owner's only shop
    assertRedirects(owner_client.get("/dashboard/"), f"/dashboard/{shop.slug}/")


def test_start_sends_staff_to_the_counter(staff_client):
    response = staff_client.get("/start/")
    assertRedirects(response, "/counter/", target_status_code=302)


def test_start_sends_a_member_to_the_portal(member_client):
    response = member_client.get("/start/")
    assertRedirects(response, "/portal/", target_status_code=302)


def test_start_sends_a_new_user_to_create_a_shop(client):
    client.force_login(UserFactory())
    response = client.get("/start/")
    assertRedirects(response, "/dashboard/shops/new/")


def test_start_prefers_the_dashboard_for_an_owner_who_is_also_a_member(owner, shop, client):
    MembershipFactory(shop=ShopFactory(), user=owner, email=owner.email)
    client.force_login(owner)
    response = client.get("/start/")
    assert response["Location"] == "/dashboard/"


def test_start_treats_a_deactivated_staff_member_as_new(shop, client):
    staff = StaffMemberFactory(shop=shop, is_active=False)
    client.force_login(staff.user)
    response = client.get("/start/")
    assert response["Location"] == "/dashboard/shops/new/"


def test_start_needs_sign_in(client):
    response = client.get("/start/")
    assert_login_redirect(response, "/start/")


# --- /healthz --------------------------------------------------------------------------------


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] == "ok"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_healthz_503_when_the_database_fails(client):
    with mock.patch("django.db.connection.cursor",
                    side_effect=OperationalError("connection refused")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["status"] != "ok"


def test_healthz_503_when_the_query_fails(client):
    cursor = mock.MagicMock()
    cursor.__enter__.return_value.execute.side_effect = OperationalError("server closed")
    with mock.patch("loyalty.views.public.connection") as connection:
        connection.cursor.return_value = cursor
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] != "ok"


# --- the invitation link ---------------------------------------------------------------------


@pytest.fixture
def invitation(shop, owner):
    return StaffInvitationFactory(shop=shop, email=INVITEE, invited_by=owner)


@pytest.fixture
def invite_url(invitation):
    return reverse("staff_invitation_accept", args=[staff_invitation_token(invitation)])


def _nothing_created(invitation, staff_before: int):
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING
    assert StaffMember.objects.count() == staff_before
    assert not User.objects.filter(email__iexact=INVITEE).exists()


def test_invitation_page_shows_the_signup_form(client, invite_url, shop):
    response = client.get(invite_url)
    assert response.status_code == 200
    content = response.content.decode()
    assert escape(shop.name) in content
    assert INVITEE in content
    assert 'name="name"' in content
    assert 'name="password"' in content


def test_new_invitee_sets_name_and_password_and_lands_at_the_counter(
    client, invite_url, invitation, shop
):
    response = client.post(invite_url, {"name": "Noor de Vries", "password": PASSWORD})

    assertRedirects(response, f"/counter/{shop.slug}/")
    user = User.objects.get(email__iexact=INVITEE)
    assert user.name == "Noor de Vries"
    assert user.check_password(PASSWORD)
    staff = StaffMember.objects.get(shop=shop, user=user)
    assert staff.role == StaffRole.STAFF
    assert staff.is_active
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED
    assert invitation.accepted_by == user
    # Signed in: the session holds the new user, and the counter opens.
    assert str(client.session[SESSION_KEY]) == str(user.pk)
    assert client.get(f"/counter/{shop.slug}/").status_code == 200


def test_new_invitee_with_a_weak_password_gets_an_error_and_nothing_is_created(
    client, invite_url, invitation
):
    staff_before = StaffMember.objects.count()
    response = client.post(invite_url, {"name": "Noor de Vries", "password": "12345"})

    assert response.status_code in (200, 400)
    content = response.content.decode()
    assert 'id="id_password_error"' in content
    assert "This password is entirely numeric." in content
    _nothing_created(invitation, staff_before)
    assert SESSION_KEY not in client.session


def test_new_invitee_without_a_name_gets_an_error(client, invite_url, invitation):
    staff_before = StaffMember.objects.count()
    response = client.post(invite_url, {"name": "", "password": PASSWORD})
    assert response.status_code in (200, 400)
    assert 'id="id_name_error"' in response.content.decode()
    _nothing_created(invitation, staff_before)


@pytest.mark.parametrize("token", [
    "not-a-token",
    "eyJpZCI6MX0:1tXyZa:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
])
def test_an_invalid_token_is_gone(client, invitation, token):
    response = client.get(reverse("staff_invitation_accept", args=[token]))
    assert response.status_code == 410
    assert "This invitation link is not valid." in response.content.decode()


def test_a_tampered_token_is_gone_also_for_post(client, invitation):
    token = staff_invitation_token(invitation)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    url = reverse("staff_invitation_accept", args=[tampered])
    staff_before = StaffMember.objects.count()

    assert client.get(url).status_code == 410
    response = client.post(url, {"name": "Noor", "password": PASSWORD})
    assert response.status_code == 410
    assert "This invitation link is not valid." in response.content.decode()
    _nothing_created(invitation, staff_before)


def test_a_token_for_a_deleted_invitation_is_gone(client, invitation):
    url = reverse("staff_invitation_accept", args=[staff_invitation_token(invitation)])
    invitation.delete()
    response = client.get(url)
    assert response.status_code == 410
    assert "This invitation link is not valid." in response.content.decode()


def test_an_expired_token_is_gone(client, invitation, invite_url):
    staff_before = StaffMember.objects.count()
    with time_machine.travel(timezone.now() + dt.timedelta(days=8), tick=False):
        get = client.get(invite_url)
        post = client.post(invite_url, {"name": "Noor", "password": PASSWORD})
    for response in (get, post):
        assert response.status_code == 410
        assert "This invitation has expired." in response.content.decode()
    _nothing_created(invitation, staff_before)


def test_an_invitation_past_its_date_is_gone(client, invitation, invite_url):
    StaffInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1))
    response = client.get(invite_url)
    assert response.status_code == 410
    assert "This invitation has expired." in response.content.decode()


def test_a_used_invitation_is_gone(client, invitation, invite_url, shop):
    first = client.post(invite_url, {"name": "Noor", "password": PASSWORD})
    assert first.status_code == 302

    other = Client()
    response = other.get(invite_url)
    assert response.status_code == 410
    assert "This invitation has already been used." in response.content.decode()
    response = other.post(invite_url, {"name": "Someone else", "password": PASSWORD})
    assert response.status_code == 410
    assert StaffMember.objects.filter(shop=shop, user__email__iexact=INVITEE).count() == 1


def test_a_revoked_invitation_is_gone(client, invitation, invite_url):
    StaffInvitation.objects.filter(pk=invitation.pk).update(status=InvitationStatus.REVOKED)
    response = client.get(invite_url)
    assert response.status_code == 410
    assert "This invitation was withdrawn by the shop." in response.content.decode()


@pytest.fixture
def invitee(invitation):
    """The invitee already has a Trouw login."""
    return UserFactory(email=INVITEE, name="Noor de Vries")


def test_existing_account_anonymous_sees_a_sign_in_link(client, invitee, invite_url):
    response = client.get(invite_url)
    assert response.status_code == 200
    content = response.content.decode()
    assert f'{LOGIN_URL}?next={quote(invite_url)}' in content
    assert 'name="password"' not in content  # no sign-up form for an existing account


def test_existing_account_anonymous_post_changes_nothing(client, invitee, invitation, shop,
                                                         invite_url):
    response = client.post(invite_url, {"name": "x", "password": PASSWORD})
    assert response.status_code == 400
    assert not StaffMember.objects.filter(shop=shop, user=invitee).exists()
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING


def test_existing_account_signed_in_accepts(invitee, invitation, shop, invite_url):
    client = signed_in(invitee)
    page = client.get(invite_url)
    assert page.status_code == 200
    assert "Accept the invitation" in page.content.decode()

    response = client.post(invite_url, follow=True)

    assert response.redirect_chain == [(f"/counter/{shop.slug}/", 302)]
    assert response.status_code == 200
    assert escape(f"Welcome to the team of {shop.name}.") in response.content.decode()
    staff = StaffMember.objects.get(shop=shop, user=invitee)
    assert staff.role == StaffRole.STAFF and staff.is_active
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.ACCEPTED
    assert User.objects.filter(email__iexact=INVITEE).count() == 1


def test_existing_account_matches_the_address_case_insensitively(shop, owner):
    invitation = StaffInvitationFactory(shop=shop, email="kim@noord.example", invited_by=owner)
    user = UserFactory(email="Kim@noord.example")
    client = signed_in(user)
    url = reverse("staff_invitation_accept", args=[staff_invitation_token(invitation)])
    response = client.post(url)
    assert response.status_code == 302
    assert StaffMember.objects.filter(shop=shop, user=user).exists()


def test_existing_account_signed_in_as_someone_else_is_refused(invitee, invitation, shop,
                                                               invite_url):
    stranger = UserFactory(email="stranger@example.com")
    client = signed_in(stranger)

    response = client.post(invite_url, follow=True)

    content = response.content.decode()
    assert response.status_code == 400
    assert f"This invitation was sent to {INVITEE}." in content
    assert not StaffMember.objects.filter(shop=shop, user__in=[stranger, invitee]).exists()
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING


def test_an_owner_accepting_an_invitation_to_their_own_shop_keeps_the_owner_role(shop, owner):
    invitation = StaffInvitationFactory(shop=shop, email=owner.email, invited_by=owner)
    client = signed_in(owner)
    url = reverse("staff_invitation_accept", args=[staff_invitation_token(invitation)])
    client.post(url)
    assert StaffMember.objects.get(shop=shop, user=owner).role == StaffRole.OWNER


def test_invitation_page_rejects_other_methods(client, invite_url):
    assert client.put(invite_url).status_code == 405


def test_robots_txt_keeps_crawlers_out_of_private_areas(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    body = response.content.decode()
    for area in ("/dashboard/", "/counter/", "/portal/"):
        assert f"Disallow: {area}" in body


def test_other_shops_owner_is_routed_to_their_own_dashboard(other_owner, other_shop):
    client = signed_in(other_owner)
    response = client.get("/dashboard/")
    assert response["Location"] == f"/dashboard/{other_shop.slug}/"


def test_start_owner_at_one_shop_and_staff_at_another_goes_to_dashboard(shop, client):
    """Owner at one shop and staff at another: the dashboard wins."""
    user = UserFactory()
    OwnerFactory(shop=ShopFactory(), user=user)
    StaffMemberFactory(shop=shop, user=user)
    client.force_login(user)
    assert client.get("/start/")["Location"] == "/dashboard/"
