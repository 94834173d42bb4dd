"""The birthday gift in Chromium: the owner sets it on the dashboard (desktop and phone); a
member whose birthday is today gets the points when the job runs, and the e-mail (locmem
backend), and sees "Birthday gift" in the portal's history. Screenshots: birthday-*."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from playwright.sync_api import expect

from loyalty import emails, services
from loyalty.models import OutboxMessage
from tests.browser.fits import assert_fits_phone
from tests.browser.helpers import PHONE, sign_in
from tests.factories import PASSWORD, MembershipFactory, OwnerFactory, ShopFactory, UserFactory

pytestmark = pytest.mark.browser


def test_the_owner_sets_a_gift_and_the_member_gets_it(new_page, screenshot, console_errors):
    shop = ShopFactory(name="Bakkerij De Gouden Korst", slug="gouden-korst", language="en",
                       time_zone="Europe/Amsterdam")
    owner = UserFactory(email="owner@korst.example")
    OwnerFactory(shop=shop, user=owner)
    noon = dt.datetime.combine(services.shop_local_now(shop=shop).date(), dt.time(12),
                               tzinfo=dt.UTC)
    today = services.shop_local_now(shop=shop, now=noon).date()
    user = UserFactory(email="sanne@example.com", name="Sanne Visser")
    born = today.replace(year=1992)  # a leap year: any day of the year exists
    member = MembershipFactory(shop=shop, user=user, email=user.email, name="Sanne Visser",
                               birthday=born, marketing_consent=True)

    page = new_page(viewport={"width": 1280, "height": 860})
    sign_in(page, owner.email, PASSWORD)
    page.goto(f"/dashboard/{shop.slug}/")
    page.get_by_role("link", name="Birthday gift").click()
    expect(page.locator(".birthday-sentence")).to_have_text("Members get no birthday gift.")
    page.get_by_label("Birthday points").fill("250")
    page.get_by_label("Some days before the birthday").check()
    page.get_by_role("textbox", name="Days before the birthday").fill("")
    page.get_by_role("button", name="Save the birthday gift").click()
    expect(page.get_by_role("alert").first).to_contain_text("Enter 1 to 31 days.")
    page.get_by_label("On the birthday", exact=True).check()
    page.get_by_role("button", name="Save the birthday gift").click()
    expect(page.locator(".birthday-sentence")).to_have_text(
        "Members get 250 points on their birthday, from 06:00.")
    screenshot(page, "birthday-owner-desktop")
    phone = new_page(**PHONE)
    sign_in(phone, owner.email, PASSWORD)
    phone.goto(f"/dashboard/{shop.slug}/birthday/")
    assert_fits_phone(phone)
    screenshot(phone, "birthday-owner-phone")

    # The hourly job, at noon of the member's birthday (when exactly is proved elsewhere).
    shop.refresh_from_db()
    run = services.birthday_gifts_give(shop=shop, now=noon)
    assert run.given == 1
    member.refresh_from_db()
    assert member.points_balance == 250
    # The outbox's sender (another part) sends what the birthday renderer composes.
    message = OutboxMessage.objects.get(kind="birthday", membership=member)
    composed = emails.birthday(message)
    email = mail.EmailMultiAlternatives(composed.subject, composed.text, to=[message.to])
    email.attach_alternative(composed.html, "text/html")
    email.send()
    assert mail.outbox[-1].subject == "Happy birthday from Bakkerij De Gouden Korst!"
    assert "250 points are on your card." in mail.outbox[-1].body

    portal = new_page(**PHONE)
    sign_in(portal, member.email, PASSWORD)
    portal.goto(f"/portal/{shop.slug}/")
    entry = portal.locator(".entry-birthday")
    expect(entry).to_contain_text("Birthday gift")
    expect(entry).to_contain_text("+250")
    assert_fits_phone(portal)
    screenshot(portal, "birthday-portal-phone")
    # The refused form answered 400 on purpose; nothing else went wrong.
    assert [e for e in console_errors if "status of 400" not in e] == []
    assert len(console_errors) <= 1
