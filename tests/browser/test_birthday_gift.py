"""The birthday gift in Chromium: the owner sets it on the dashboard (desktop and phone); a
member whose birthday is today gets the points when the job runs, and the e-mail through the
outbox (file backend), sees "Birthday gift" in the portal's history, and unsubscribes from
marketing with one click on the e-mail's link; the owner sees the e-mail on the member's page.
Screenshots: birthday-*, unsubscribe-*."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re

import pytest
from playwright.sync_api import expect

from loyalty import services
from loyalty.models import ConsentChange, ConsentSource, OutboxMessage, OutboxStatus
from tests.browser.fits import assert_fits_phone
from tests.browser.helpers import PHONE, sign_in
from tests.factories import PASSWORD, MembershipFactory, OwnerFactory, ShopFactory, UserFactory

pytestmark = pytest.mark.browser


def sent_mails(folder) -> list[email.message.EmailMessage]:
    """The messages Django's file backend wrote (one file per connection, messages apart by
    a line of dashes)."""
    found = []
    for path in sorted(folder.glob("*.log")):
        for raw in path.read_text(encoding="utf-8").split("\n" + "-" * 79 + "\n"):
            if raw.strip():
                found.append(email.message_from_string(raw.lstrip("\n"),
                                                       policy=email.policy.default))
    return found


def test_the_owner_sets_a_gift_and_the_member_gets_it(new_page, screenshot, console_errors,
                                                      settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
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
    # The outbox sends it, through the file backend: the drain enqueued on commit (eager in
    # the tests) may have sent it already; a drain now (what the task runs) sends nothing twice.
    message = OutboxMessage.objects.get(kind="birthday", membership=member)
    services.outbox_drain()
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    [sent] = sent_mails(tmp_path / "mail")
    assert sent["Subject"] == "Happy birthday from Bakkerij De Gouden Korst!"
    assert sent["To"] == "sanne@example.com"
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = sent.get_body(preferencelist=("plain",)).get_content()
    assert "250 points are on your card." in text
    html = sent.get_body(preferencelist=("html",)).get_content()
    link = re.search(r'href="(http[^"]*/unsubscribe/[^"]+/)"', html).group(1)
    assert str(sent["List-Unsubscribe"]).strip() == f"<{link}>"

    portal = new_page(**PHONE)
    sign_in(portal, member.email, PASSWORD)
    portal.goto(f"/portal/{shop.slug}/")
    entry = portal.locator(".entry-birthday")
    expect(entry).to_contain_text("Birthday gift")
    expect(entry).to_contain_text("+250")
    assert_fits_phone(portal)
    screenshot(portal, "birthday-portal-phone")

    # One click on the e-mail's unsubscribe link (the live server stands in for the site).
    path = link.split("://", 1)[1].split("/", 1)[1]
    inbox = new_page(**PHONE)
    inbox.goto("/" + path)
    expect(inbox.get_by_role("heading", level=1)).to_have_text(
        "No more news and offers from Bakkerij De Gouden Korst?")
    assert_fits_phone(inbox)
    screenshot(inbox, "unsubscribe-phone")
    inbox.get_by_role("button", name="Unsubscribe").click()
    expect(inbox.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    screenshot(inbox, "unsubscribe-done-phone")
    member.refresh_from_db()
    assert member.marketing_consent is False
    change = ConsentChange.objects.get(membership=member)
    assert (change.marketing, change.source) == (False, ConsentSource.UNSUBSCRIBE)

    # The owner sees the e-mail on the member's page.
    page.goto(f"/dashboard/{shop.slug}/members/{member.card_number}/")
    emails_panel = page.locator(".member-emails")
    expect(emails_panel).to_contain_text("Birthday")
    expect(emails_panel).to_contain_text("Sent")
    screenshot(page, "member-emails-desktop")
    # The refused form answered 400 on purpose; nothing else went wrong.
    assert [e for e in console_errors if "status of 400" not in e] == []
    assert len(console_errors) <= 1
