"""The first day of a shop on Trouw, through the real UI in Chromium.

An owner signs up and creates a shop, invites a staff member by e-mail, the staff member
accepts and opens the counter, a customer joins on the shop's public page and sees their card,
and the staff member finds that customer at the counter. Each step checks the page and the
database.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from loyalty.models import (
    InvitationStatus,
    Membership,
    Shop,
    StaffInvitation,
    StaffMember,
    StaffRole,
    User,
)

pytestmark = pytest.mark.browser

SHOP_NAME = "De Gouden Korst"
SLUG = "gouden-korst"
OWNER = {"name": "Els de Vries", "email": "els@goudenkorst.example",
         "password": "Krentenbol-zonnig-2024"}
STAFF = {"name": "Daan Bakker", "email": "daan@goudenkorst.example",
         "password": "Roggebrood-ovenwarm-7"}
CUSTOMER = {"name": "Fatima El Amrani", "email": "fatima@example.com",
            "password": "Appeltaart-slagroom-3"}
# Customers join and show their card on their phone.
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def owner_signs_up(page: Page) -> None:
    page.goto("/accounts/signup/")
    page.get_by_label("Your name").fill(OWNER["name"])
    page.get_by_label("Email").fill(OWNER["email"])
    page.locator("input[name=password1]").fill(OWNER["password"])
    page.locator("input[name=password2]").fill(OWNER["password"])
    page.get_by_role("button", name="Sign Up").click()

    expect(page).to_have_url(re.compile(r"/dashboard/shops/new/$"))
    expect(page.get_by_role("heading", name="Create your shop")).to_be_visible()
    user = User.objects.get(email=OWNER["email"])
    assert user.name == OWNER["name"]
    assert user.check_password(OWNER["password"])


def owner_creates_shop(page: Page) -> Shop:
    form = page.get_by_role("main")  # the top bar has a "Language" picker too
    form.get_by_label("Shop name").fill(SHOP_NAME)
    form.get_by_label("Web address").fill(SLUG)
    form.get_by_label("Currency").select_option("EUR")
    form.get_by_label("Language").select_option("en")
    form.get_by_label("Time zone").select_option("Europe/Amsterdam")
    form.get_by_role("button", name="Create shop").click()

    expect(page).to_have_url(re.compile(rf"/dashboard/{SLUG}/$"))
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(
        f"{SHOP_NAME} is ready. Welcome to your dashboard.")
    expect(page.locator("code")).to_have_text(re.compile(rf"https?://[^/]+/s/{SLUG}/$"))

    shop = Shop.objects.get(slug=SLUG)
    assert (shop.name, shop.currency, shop.language, shop.time_zone) == (
        SHOP_NAME, "EUR", "en", "Europe/Amsterdam")
    assert StaffMember.objects.filter(
        shop=shop, user__email=OWNER["email"], role=StaffRole.OWNER, is_active=True
    ).exists()
    return shop


def owner_invites_staff(page: Page, shop: Shop, mailoutbox) -> str:
    """Returns the path of the invitation link from the e-mail."""
    page.get_by_role("navigation", name="Shop").get_by_role("link", name="Staff").click()
    expect(page.get_by_role("heading", name="Staff", exact=True)).to_be_visible()
    page.get_by_label("E-mail address of your staff member").fill(STAFF["email"])
    page.get_by_role("button", name="Send invitation").click()

    expect(page.get_by_role("status")).to_contain_text(f"Invitation sent to {STAFF['email']}.")
    pending = page.locator("section", has=page.get_by_role("heading", name="Pending invitations"))
    expect(pending.get_by_role("row", name=re.compile(re.escape(STAFF["email"])))).to_be_visible()

    invitation = StaffInvitation.objects.get(shop=shop, email=STAFF["email"])
    assert invitation.status == InvitationStatus.PENDING
    assert invitation.sent_at is not None  # the Celery task ran (eagerly, after the commit)
    mails = [m for m in mailoutbox if m.to == [STAFF["email"]]]
    assert len(mails) == 1
    assert mails[0].subject == f"You are invited to the team of {SHOP_NAME} on Trouw"
    assert OWNER["name"] in mails[0].body
    # The link starts with TROUW_BASE_URL (not the live server): keep only its path.
    link = re.search(r"https?://\S+/invite/\S+/", mails[0].body)
    assert link, mails[0].body
    return urlsplit(link.group(0)).path


def staff_accepts_invitation(page: Page, shop: Shop, invitation_path: str) -> None:
    page.goto(invitation_path)
    expect(page.get_by_role("heading", name=f"Join the team of {SHOP_NAME}")).to_be_visible()
    expect(page.get_by_text(f"This invitation is for {STAFF['email']}.")).to_be_visible()
    page.get_by_label("Your name").fill(STAFF["name"])
    page.get_by_label("Choose a password").fill(STAFF["password"])
    page.get_by_role("button", name="Join the team").click()

    expect(page).to_have_url(re.compile(rf"/counter/{SLUG}/$"))
    expect(page.get_by_role("status")).to_contain_text(f"Welcome to the team of {SHOP_NAME}.")
    expect(page.get_by_label("Phone, e-mail, card number or name")).to_be_focused()

    staff_member = StaffMember.objects.select_related("user").get(
        shop=shop, user__email=STAFF["email"])
    assert staff_member.role == StaffRole.STAFF
    assert staff_member.is_active
    assert staff_member.user.name == STAFF["name"]
    invitation = StaffInvitation.objects.get(shop=shop, email=STAFF["email"])
    assert invitation.status == InvitationStatus.ACCEPTED
    assert invitation.accepted_by == staff_member.user


def owner_sees_the_team(page: Page) -> None:
    page.reload()
    team = page.locator("section", has=page.get_by_role("heading", name="Your team"))
    row = team.get_by_role("row", name=re.compile(re.escape(STAFF["email"])))
    expect(row).to_contain_text(STAFF["name"])
    expect(row).to_contain_text("Staff")
    expect(row).to_contain_text("Active")
    expect(page.get_by_role("heading", name="Pending invitations")).to_have_count(0)


def customer_joins(page: Page, shop: Shop) -> Membership:
    page.goto(f"/s/{SLUG}/")
    expect(page.get_by_role("heading", name=f"Join the loyalty program of {SHOP_NAME}")
           ).to_be_visible()
    consent = page.get_by_label("Yes, send me news and offers from this shop.")
    expect(consent).not_to_be_checked()
    page.get_by_label("Your name").fill(CUSTOMER["name"])
    page.get_by_label("E-mail address").fill(CUSTOMER["email"])
    page.get_by_label("Choose a password").fill(CUSTOMER["password"])
    page.get_by_role("button", name="Join", exact=True).click()

    expect(page).to_have_url(re.compile(rf"/portal/{SLUG}/$"))
    expect(page.get_by_role("status")).to_contain_text(
        f"Welcome to {SHOP_NAME}! Here is your card.")
    membership = Membership.objects.select_related("user").get(shop=shop)
    card = page.locator(".member-card")
    expect(card.locator(".shop")).to_have_text(SHOP_NAME)
    expect(card.locator(".points")).to_have_text("0")
    expect(card).to_contain_text(CUSTOMER["name"])
    expect(card.locator(".card-number")).to_have_text(membership.card_number_display)
    expect(card.locator(".qr-box svg")).to_be_visible()

    assert membership.name == CUSTOMER["name"]
    assert membership.email == CUSTOMER["email"]
    assert membership.user.email == CUSTOMER["email"]
    assert membership.user.check_password(CUSTOMER["password"])
    assert membership.marketing_consent is False
    assert membership.marketing_consent_at is None
    assert membership.points_balance == 0
    assert membership.language == "en"
    return membership


def owner_sees_new_member(page: Page) -> None:
    page.get_by_role("navigation", name="Shop").get_by_role("link", name="Overview").click()
    members_stat = page.locator(".panel", has=page.get_by_text("members", exact=True))
    expect(members_stat.locator(".stat")).to_have_text("1")
    newest = page.locator("section", has=page.get_by_role("heading", name="Newest members"))
    expect(newest.get_by_role("listitem")).to_contain_text(CUSTOMER["name"])


def staff_finds_customer(page: Page, membership: Membership, screenshot) -> None:
    counter_url = page.url
    search = page.get_by_label("Phone, e-mail, card number or name")
    part_of_name = "amran"  # of "Fatima El Amrani": the middle of the name, in lower case
    with page.expect_response(
        lambda r: f"q={part_of_name}" in r.url and r.request.headers.get("hx-request") == "true"
    ):
        search.press_sequentially(part_of_name)
    result = page.locator("#results a.result")
    expect(result).to_have_count(1)
    expect(result).to_contain_text(CUSTOMER["name"])
    expect(result).to_contain_text(membership.card_number_display)
    assert page.url == counter_url  # htmx swapped the results in; the page did not reload
    screenshot(page, "counter")

    result.click()
    expect(page).to_have_url(re.compile(rf"/counter/{SLUG}/members/{membership.card_number}/$"))
    expect(page.get_by_role("heading", name=CUSTOMER["name"])).to_be_visible()
    expect(page.get_by_text(membership.card_number_display, exact=True)).to_be_visible()
    expect(page.locator(".balance")).to_have_text("0")


@pytest.mark.django_db(transaction=True)
def test_owner_staff_and_customer_first_day(new_page, mailoutbox, screenshot, console_errors):
    owner = new_page()
    owner_signs_up(owner)
    shop = owner_creates_shop(owner)
    screenshot(owner, "dashboard")

    invitation_path = owner_invites_staff(owner, shop, mailoutbox)
    staff = new_page()
    staff_accepts_invitation(staff, shop, invitation_path)
    owner_sees_the_team(owner)

    customer = new_page(**PHONE)
    membership = customer_joins(customer, shop)
    screenshot(customer, "portal")
    owner_sees_new_member(owner)

    staff_finds_customer(staff, membership, screenshot)

    assert console_errors == []
