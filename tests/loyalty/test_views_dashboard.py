"""The owner dashboard (loyalty/views/dashboard.py): shops, settings, staff and members."""

from __future__ import annotations

import io
import os
from urllib.parse import quote

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.html import escape
from PIL import Image
from pytest_django.asserts import assertRedirects

from loyalty.models import InvitationStatus, Shop, StaffInvitation, StaffMember, StaffRole
from tests.factories import (
    MembershipFactory,
    OwnerFactory,
    ShopFactory,
    StaffInvitationFactory,
    StaffMemberFactory,
    UserFactory,
)
from tests.helpers import signed_in, text

pytestmark = pytest.mark.django_db

NEW_SHOP = {
    "name": "Slagerij Oost",
    "slug": "slagerij-oost",
    "currency": "EUR",
    "language": "nl",
    "country": "NL",
    "time_zone": "Europe/Amsterdam",
}


def png_bytes(size=(8, 8), noise=False) -> bytes:
    if noise:
        image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        image = Image.new("RGB", size, (200, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def settings_data(shop, **overrides):
    data = {
        "name": shop.name, "language": shop.language, "time_zone": shop.time_zone,
        "country": shop.country, "brand_color": shop.brand_color, "email": shop.email,
        "phone": shop.phone, "address": shop.address, "website": shop.website,
    }
    data.update(overrides)
    return data


# --- /dashboard/ -----------------------------------------------------------------------------


def test_index_without_shops_redirects_to_create(client):
    client.force_login(UserFactory())
    assertRedirects(client.get("/dashboard/"), "/dashboard/shops/new/")


def test_index_with_one_shop_redirects_to_its_overview(owner_client, shop):
    assertRedirects(owner_client.get("/dashboard/"), f"/dashboard/{shop.slug}/")


def test_index_with_two_shops_lists_both(owner, shop, other_shop, client):
    OwnerFactory(shop=other_shop, user=owner)
    client.force_login(owner)
    response = client.get("/dashboard/")
    assert response.status_code == 200
    content = text(response)
    for s in (shop, other_shop):
        assert escape(s.name) in content
        assert f'href="/dashboard/{s.slug}/"' in content


def test_index_ignores_shops_where_the_user_is_only_staff(staff_client):
    assertRedirects(staff_client.get("/dashboard/"), "/dashboard/shops/new/")


def test_index_needs_sign_in(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/dashboard/"


def test_overview_shows_counts_and_public_link(owner_client, shop, staff_user):
    MembershipFactory(shop=shop, name="Piet Jansen")
    MembershipFactory(shop=ShopFactory(), name="Elders Lid")
    response = owner_client.get(f"/dashboard/{shop.slug}/")
    assert response.status_code == 200
    content = text(response)
    assert "Piet Jansen" in content
    assert "Elders Lid" not in content
    assert f"http://testserver/s/{shop.slug}/" in content


# --- creating a shop -------------------------------------------------------------------------


def test_create_form_is_shown(client):
    client.force_login(UserFactory())
    response = client.get("/dashboard/shops/new/")
    assert response.status_code == 200
    content = text(response)
    for field in ("name", "slug", "currency", "language", "time_zone"):
        assert f'name="{field}"' in content


def test_create_shop(client):
    user = UserFactory()
    client.force_login(user)

    response = client.post("/dashboard/shops/new/", NEW_SHOP)

    assertRedirects(response, "/dashboard/slagerij-oost/", fetch_redirect_response=False)
    shop = Shop.objects.get(slug="slagerij-oost")
    assert (shop.name, shop.currency, shop.language, shop.time_zone) == (
        "Slagerij Oost", "EUR", "nl", "Europe/Amsterdam")
    assert StaffMember.objects.filter(shop=shop, user=user, role=StaffRole.OWNER,
                                      is_active=True).exists()
    assert "Slagerij Oost is ready" in text(client.get(response["Location"]))


def test_create_shop_with_a_taken_slug_shows_an_error(owner_client, shop):
    shops_before = Shop.objects.count()
    staff_before = StaffMember.objects.count()

    response = owner_client.post("/dashboard/shops/new/", {**NEW_SHOP, "slug": shop.slug})

    assert response.status_code in (200, 400)
    content = text(response)
    assert (f"The web address “{shop.slug}” is taken. Try another, such as "
            f"“{shop.slug}-2”.") in content
    assert 'id="id_slug_error"' in content
    assert Shop.objects.count() == shops_before
    assert StaffMember.objects.count() == staff_before


def test_create_shop_with_a_reserved_slug_shows_an_error(client):
    client.force_login(UserFactory())
    response = client.post("/dashboard/shops/new/", {**NEW_SHOP, "slug": "portal"})
    assert response.status_code in (200, 400)
    assert "is reserved" in text(response)
    assert not Shop.objects.filter(slug="portal").exists()


@pytest.mark.parametrize("field, value", [
    ("currency", "XYZ"),
    ("language", "de"),
    ("time_zone", "Mars/Olympus_Mons"),
    ("slug", "Not a slug!"),
    ("name", ""),
])
def test_create_shop_with_bad_input_creates_nothing(client, field, value):
    client.force_login(UserFactory())
    response = client.post("/dashboard/shops/new/", {**NEW_SHOP, field: value})
    assert response.status_code in (200, 400)
    assert f'id="id_{field}_error"' in text(response)
    assert Shop.objects.count() == 0
    assert StaffMember.objects.count() == 0


def test_create_shop_with_an_unknown_currency_names_the_problem(client):
    client.force_login(UserFactory())
    response = client.post("/dashboard/shops/new/", {**NEW_SHOP, "currency": "XYZ"})
    assert "Select a valid choice. XYZ is not one of the available choices." in text(response)
    assert not Shop.objects.exists()


def test_create_shop_needs_sign_in(client):
    response = client.post("/dashboard/shops/new/", NEW_SHOP)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Shop.objects.exists()


# --- settings --------------------------------------------------------------------------------


def test_settings_page_shows_the_shop(owner_client, shop):
    response = owner_client.get(f"/dashboard/{shop.slug}/settings/")
    assert response.status_code == 200
    content = text(response)
    assert f'value="{escape(shop.name)}"' in content
    assert 'name="logo"' in content
    assert 'name="currency"' not in content


def test_settings_save_name_language_time_zone_and_logo(owner_client, shop, media_root):
    logo = SimpleUploadedFile("logo.png", png_bytes(), content_type="image/png")
    response = owner_client.post(
        f"/dashboard/{shop.slug}/settings/",
        {**settings_data(shop, name="Bakkerij Noord & Zn", language="sv",
                         time_zone="Europe/Stockholm"), "logo": logo},
    )

    assertRedirects(response, f"/dashboard/{shop.slug}/settings/",
                    fetch_redirect_response=False)
    shop.refresh_from_db()
    assert shop.name == "Bakkerij Noord & Zn"
    assert shop.language == "sv"
    assert shop.time_zone == "Europe/Stockholm"
    assert shop.logo.name.startswith("shops/logos/")
    assert (media_root / shop.logo.name).exists()
    page = text(owner_client.get(response["Location"]))
    assert escape("Your shop's details are saved.") in page
    assert shop.logo.url in page


def test_settings_refuse_a_file_that_is_not_an_image(owner_client, shop, media_root):
    fake = SimpleUploadedFile("logo.png", b"%PDF-1.4 not an image", content_type="image/png")
    response = owner_client.post(f"/dashboard/{shop.slug}/settings/",
                                 {**settings_data(shop, name="Changed"), "logo": fake})
    assert response.status_code in (200, 400)
    content = text(response)
    assert 'id="id_logo_error"' in content
    assert "Upload a valid image." in content
    shop.refresh_from_db()
    assert shop.name == "Bakkerij Noord"
    assert not shop.logo
    assert not list(media_root.rglob("*.png"))


def test_settings_refuse_a_logo_over_2_mb(owner_client, shop, media_root):
    big = png_bytes(size=(1000, 800), noise=True)
    assert len(big) > 2 * 1024 * 1024
    response = owner_client.post(
        f"/dashboard/{shop.slug}/settings/",
        {**settings_data(shop), "logo": SimpleUploadedFile("big.png", big, "image/png")},
    )
    assert response.status_code in (200, 400)
    assert "The logo may be 2 MB at most." in text(response)
    shop.refresh_from_db()
    assert not shop.logo


def test_settings_refuse_a_bad_time_zone(owner_client, shop):
    response = owner_client.post(f"/dashboard/{shop.slug}/settings/",
                                 settings_data(shop, time_zone="Mars/Olympus_Mons"))
    assert response.status_code in (200, 400)
    assert 'id="id_time_zone_error"' in text(response)
    shop.refresh_from_db()
    assert shop.time_zone == "Europe/Amsterdam"


def test_settings_cannot_change_the_currency(owner_client, shop):
    response = owner_client.post(f"/dashboard/{shop.slug}/settings/",
                                 {**settings_data(shop, name="Nieuwe naam"), "currency": "SEK",
                                  "slug": "gestolen"})
    assert response.status_code == 302
    shop.refresh_from_db()
    assert shop.currency == "EUR"
    assert shop.slug == "bakkerij-noord"
    assert shop.name == "Nieuwe naam"


# --- staff -----------------------------------------------------------------------------------


def test_staff_page_lists_team_and_pending_invitations(owner_client, shop, owner, staff_user):
    pending = StaffInvitationFactory(shop=shop, email="pending@noord.example")
    StaffInvitationFactory(shop=shop, email="revoked@noord.example",
                           status=InvitationStatus.REVOKED)
    StaffInvitationFactory(shop=ShopFactory(), email="elsewhere@zuid.example")

    response = owner_client.get(f"/dashboard/{shop.slug}/staff/")

    assert response.status_code == 200
    content = text(response)
    assert owner.email in content
    assert staff_user.email in content
    assert pending.email in content
    assert f"/staff/invitations/{pending.pk}/revoke/" in content
    assert "revoked@noord.example" not in content
    assert "elsewhere@zuid.example" not in content


def test_invite_sends_one_email(owner_client, shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"/dashboard/{shop.slug}/staff/invite/",
                                     {"email": "Nieuw@Noord.example"})

    assertRedirects(response, f"/dashboard/{shop.slug}/staff/", fetch_redirect_response=False)
    invitation = StaffInvitation.objects.get(shop=shop)
    assert invitation.email == "nieuw@noord.example"
    assert invitation.status == InvitationStatus.PENDING
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nieuw@noord.example"]
    assert "/invite/" in message.body
    assert "Invitation sent to nieuw@noord.example." in text(
        owner_client.get(response["Location"]))


@pytest.mark.parametrize("email", ["not-an-address", "", "a@b"])
def test_invite_with_an_invalid_address_is_refused(owner_client, shop, email,
                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"/dashboard/{shop.slug}/staff/invite/", {"email": email})
    assert response.status_code == 400
    assert 'id="id_email_error"' in text(response)
    assert not StaffInvitation.objects.exists()
    assert mail.outbox == []


def test_invite_someone_already_on_the_team_is_refused(owner_client, shop, staff_user,
                                                      django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"/dashboard/{shop.slug}/staff/invite/",
                                     {"email": staff_user.email})
    assert response.status_code == 400
    assert "is already on your team" in text(response)
    assert not StaffInvitation.objects.exists()
    assert mail.outbox == []


def test_revoke_an_invitation(owner_client, shop):
    invitation = StaffInvitationFactory(shop=shop)
    response = owner_client.post(
        f"/dashboard/{shop.slug}/staff/invitations/{invitation.pk}/revoke/", follow=True)
    assert response.redirect_chain[-1][0] == f"/dashboard/{shop.slug}/staff/"
    assert "The invitation is withdrawn." in text(response)
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.REVOKED


def test_revoke_another_shops_invitation_does_nothing(owner_client, shop, other_shop):
    theirs = StaffInvitationFactory(shop=other_shop)
    response = owner_client.post(
        f"/dashboard/{shop.slug}/staff/invitations/{theirs.pk}/revoke/", follow=True)
    assert "This invitation is no longer pending." in text(response)
    theirs.refresh_from_db()
    assert theirs.status == InvitationStatus.PENDING


def test_deactivate_and_reactivate_a_staff_member(owner_client, shop, staff_user):
    staff = StaffMember.objects.get(shop=shop, user=staff_user)
    counter = signed_in(staff_user)
    assert counter.get(f"/counter/{shop.slug}/").status_code == 200

    response = owner_client.post(f"/dashboard/{shop.slug}/staff/{staff.pk}/active/",
                                 {"active": "0"}, follow=True)

    assert response.redirect_chain[-1][0] == f"/dashboard/{shop.slug}/staff/"
    assert "no longer has access to your shop" in text(response)
    staff.refresh_from_db()
    assert staff.is_active is False
    assert counter.get(f"/counter/{shop.slug}/").status_code == 404

    response = owner_client.post(f"/dashboard/{shop.slug}/staff/{staff.pk}/active/",
                                 {"active": "1"}, follow=True)

    assert "can use the counter again" in text(response)
    staff.refresh_from_db()
    assert staff.is_active is True
    assert counter.get(f"/counter/{shop.slug}/").status_code == 200


def test_deactivating_the_owner_is_refused(owner_client, shop, owner):
    owner_staff = StaffMember.objects.get(shop=shop, user=owner)
    response = owner_client.post(f"/dashboard/{shop.slug}/staff/{owner_staff.pk}/active/",
                                 {"active": "0"}, follow=True)
    assert response.status_code == 200
    assert "An owner cannot be deactivated." in text(response)
    owner_staff.refresh_from_db()
    assert owner_staff.is_active is True
    assert owner_client.get(f"/dashboard/{shop.slug}/").status_code == 200


def test_deactivating_another_shops_staff_is_refused(owner_client, shop, other_shop):
    theirs = StaffMemberFactory(shop=other_shop)
    response = owner_client.post(f"/dashboard/{shop.slug}/staff/{theirs.pk}/active/",
                                 {"active": "0"}, follow=True)
    assert "No such staff member at this shop." in text(response)
    theirs.refresh_from_db()
    assert theirs.is_active is True


# --- members ---------------------------------------------------------------------------------


def test_members_page_lists_the_shops_members_only(owner_client, shop, member):
    MembershipFactory(shop=shop, name="Piet Jansen")
    MembershipFactory(shop=ShopFactory(), name="Elders Lid")
    response = owner_client.get(f"/dashboard/{shop.slug}/members/")
    assert response.status_code == 200
    content = text(response)
    assert "Sanne Visser" in content
    assert "Piet Jansen" in content
    assert member.card_number_display in content
    assert "Elders Lid" not in content
    assert "<html" in content


def test_members_page_empty_state(owner_client, shop):
    response = owner_client.get(f"/dashboard/{shop.slug}/members/")
    assert "No members yet." in text(response)


def test_members_page_paginates_by_25(owner_client, shop):
    MembershipFactory.create_batch(30, shop=shop)

    first = text(owner_client.get(f"/dashboard/{shop.slug}/members/"))
    second = text(owner_client.get(f"/dashboard/{shop.slug}/members/?page=2"))

    assert first.count("<tr><td>") == 25
    assert second.count("<tr><td>") == 5
    assert "Page 1 of 2 · 30 members" in first
    assert "page=2" in first
    assert "Page 2 of 2 · 30 members" in second
    # each member on exactly one page
    names = list(shop.memberships.values_list("card_number", flat=True))
    for card in names:
        display = " ".join(card[i:i + 4] for i in range(0, len(card), 4))
        assert (display in first) != (display in second)


def test_members_page_out_of_range_page_shows_the_last(owner_client, shop):
    MembershipFactory.create_batch(3, shop=shop)
    response = owner_client.get(f"/dashboard/{shop.slug}/members/?page=99")
    assert response.status_code == 200
    assert "Page 1 of 1" in text(response)
    response = owner_client.get(f"/dashboard/{shop.slug}/members/?page=abc")
    assert response.status_code == 200


@pytest.fixture
def searchable(shop):
    return {
        "sanne": MembershipFactory(shop=shop, name="Sanne Visser", email="sanne@example.com",
                                   phone="+31612345678"),
        "piet": MembershipFactory(shop=shop, name="Piet Jansen", email="piet@example.com",
                                  phone="+31698765432"),
        "elsewhere": MembershipFactory(shop=ShopFactory(), name="Sanne Elders",
                                       email="sanne@elders.example", phone="+31612345679"),
    }


@pytest.mark.parametrize("query", ["sanne vis", "06 1234 5678", "+31 6 12345678"])
def test_members_search(owner_client, shop, searchable, query):
    response = owner_client.get(f"/dashboard/{shop.slug}/members/", {"q": query})
    content = text(response)
    assert "Sanne Visser" in content
    assert "Piet Jansen" not in content
    assert "Sanne Elders" not in content
    assert f'value="{escape(query)}"' in content


def test_members_search_by_card_number(owner_client, shop, searchable):
    card = searchable["piet"].card_number_display  # with spaces, as printed
    content = text(owner_client.get(f"/dashboard/{shop.slug}/members/", {"q": card}))
    assert "Piet Jansen" in content
    assert "Sanne Visser" not in content


def test_members_search_does_not_find_another_shops_card(owner_client, shop, searchable):
    card = searchable["elsewhere"].card_number
    content = text(owner_client.get(f"/dashboard/{shop.slug}/members/", {"q": card}))
    assert "Sanne Elders" not in content
    assert "No member matches" in content


def test_members_htmx_returns_only_the_table(owner_client, shop, searchable):
    response = owner_client.get(f"/dashboard/{shop.slug}/members/", {"q": "piet"},
                                headers={"HX-Request": "true"})
    assert response.status_code == 200
    content = text(response)
    assert "<html" not in content
    assert content.lstrip().startswith('<div id="member-table"')
    assert 'id="member-q"' not in content
    assert "Piet Jansen" in content
    assert "Sanne Visser" not in content
    assert "HX-Request" in response["Vary"]


# --- methods and access ----------------------------------------------------------------------


@pytest.fixture
def pending_invitation(shop):
    return StaffInvitationFactory(shop=shop)


@pytest.fixture
def post_only_urls(shop, staff_user, pending_invitation):
    staff = StaffMember.objects.get(shop=shop, user=staff_user)
    return [
        f"/dashboard/{shop.slug}/staff/invite/",
        f"/dashboard/{shop.slug}/staff/invitations/{pending_invitation.pk}/revoke/",
        f"/dashboard/{shop.slug}/staff/{staff.pk}/active/",
    ]


def test_post_only_endpoints_refuse_get(owner_client, post_only_urls, pending_invitation,
                                        staff_user, shop):
    for url in post_only_urls:
        assert owner_client.get(url).status_code == 405, url
    pending_invitation.refresh_from_db()
    assert pending_invitation.status == InvitationStatus.PENDING
    assert StaffMember.objects.get(shop=shop, user=staff_user).is_active


def _all_dashboard_requests(shop, staff_member, invitation):
    base = f"/dashboard/{shop.slug}"
    return [
        ("get", f"{base}/", None),
        ("get", f"{base}/settings/", None),
        ("post", f"{base}/settings/", {"name": "Hacked", "language": "en",
                                       "time_zone": "Europe/Amsterdam"}),
        ("get", f"{base}/staff/", None),
        ("post", f"{base}/staff/invite/", {"email": "friend@example.com"}),
        ("post", f"{base}/staff/invitations/{invitation.pk}/revoke/", {}),
        ("post", f"{base}/staff/{staff_member.pk}/active/", {"active": "0"}),
        ("get", f"{base}/members/", None),
        ("get", f"{base}/members/?q=sanne", None),
    ]


def _assert_denied_everywhere(client, shop, staff_member, invitation):
    for method, url, data in _all_dashboard_requests(shop, staff_member, invitation):
        response = getattr(client, method)(url, data) if data is not None else getattr(
            client, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)
    shop.refresh_from_db()
    assert shop.name == "Bakkerij Noord"
    invitation.refresh_from_db()
    assert invitation.status == InvitationStatus.PENDING
    staff_member.refresh_from_db()
    assert staff_member.is_active
    assert StaffInvitation.objects.filter(shop=shop).count() == 1


def test_staff_get_404_on_every_dashboard_page(staff_client, shop, staff_user,
                                               pending_invitation, member):
    staff = StaffMember.objects.get(shop=shop, user=staff_user)
    _assert_denied_everywhere(staff_client, shop, staff, pending_invitation)


def test_a_deactivated_owner_gets_404(shop, owner, pending_invitation, staff_user):
    StaffMember.objects.filter(shop=shop, user=owner).update(is_active=False)
    staff = StaffMember.objects.get(shop=shop, user=staff_user)
    _assert_denied_everywhere(signed_in(owner), shop, staff, pending_invitation)


def test_another_shops_owner_gets_404(other_owner, shop, staff_user, pending_invitation, member):
    staff = StaffMember.objects.get(shop=shop, user=staff_user)
    _assert_denied_everywhere(signed_in(other_owner), shop, staff, pending_invitation)


def test_a_member_gets_404(member_client, shop, staff_user, pending_invitation):
    staff = StaffMember.objects.get(shop=shop, user=staff_user)
    _assert_denied_everywhere(member_client, shop, staff, pending_invitation)


def test_an_unknown_shop_is_404(owner_client):
    assert owner_client.get("/dashboard/no-such-shop/").status_code == 404


def test_anonymous_is_sent_to_sign_in(client, shop, staff_user, pending_invitation):
    staff = StaffMember.objects.get(shop=shop, user=staff_user)
    for method, url, data in _all_dashboard_requests(shop, staff, pending_invitation):
        response = getattr(client, method)(url, data) if data is not None else getattr(
            client, method)(url)
        assert response.status_code == 302, (method, url)
        assert response["Location"] == f"/accounts/login/?next={quote(url)}"
    pending_invitation.refresh_from_db()
    assert pending_invitation.status == InvitationStatus.PENDING
