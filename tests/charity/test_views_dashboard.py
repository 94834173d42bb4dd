"""The owner's charity pages: the program's settings and the charities (bad input is refused
in our words and changes nothing), the months with their statements: close, mark paid, CSV,
printable page, and a gift of points taken back."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from charity import services
from charity.models import Charity, CharityProgram, Donation, Statement
from loyalty import services as loyalty_services
from loyalty.models import Membership, Shop
from tests.factories import MembershipFactory, ShopFactory
from tests.helpers import signed_in, text

from .conftest import VALID_RSIN, charity_add, program_set

pytestmark = pytest.mark.django_db

NOVEMBER = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
DECEMBER = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


def settings_post(**changes):
    data = {"enabled": "on", "mode": "beside", "rule_kind": "percent", "rule_value": "2",
            "monthly_cap": "", "split": "default", "default_charity": "",
            "points_per_unit": "", "round_up_max": "5.00"}
    data.update(changes)
    return data


def test_the_page_is_in_the_dashboards_menu(owner_client, shop):
    page = owner_client.get(reverse("dashboard:overview", args=[shop.slug]))
    assert reverse("charity_program", args=[shop.slug]) in text(page)
    program = owner_client.get(reverse("charity_program", args=[shop.slug]))
    assert reverse("charity_months", args=[shop.slug]) in text(program)


def test_the_owner_adds_a_charity_and_switches_the_program_on(owner_client, shop):
    url = reverse("charity_create", args=[shop.slug])
    response = owner_client.post(url, {"name": "Voedselbank", "registration_kind": "anbi",
                                       "registration_number": VALID_RSIN, "active": "on"})
    assert response.status_code == 302
    charity = Charity.objects.get(shop=shop)
    assert charity.is_default and charity.registration_number == VALID_RSIN
    response = owner_client.post(reverse("charity_program", args=[shop.slug]),
                                 settings_post(default_charity=str(charity.pk)))
    assert response.status_code == 302
    assert Shop.objects.get(pk=shop.pk).charity_enabled
    page = owner_client.get(reverse("charity_program", args=[shop.slug]))
    assert "Voedselbank" in text(page) and "(default)" in text(page)


@pytest.mark.parametrize("changes, message", [
    ({"rule_value": "101"}, "A percentage is 0 to 100."),
    ({"rule_value": "-0.5"}, "The value cannot be below zero."),
    ({"monthly_cap": "0"}, "A monthly cap is more than zero"),
    ({"round_up_max": "500"}, "The largest round-up is 0 to 100."),
    ({"points_per_unit": "-3"}, "Enter a whole number of points above zero"),
])
def test_bad_settings_are_refused_in_our_words_and_nothing_changes(owner_client, shop, changes,
                                                                  message):
    charity_add(shop, "Voedselbank")
    program_set(shop)
    before = list(CharityProgram.objects.values())
    response = owner_client.post(reverse("charity_program", args=[shop.slug]),
                                 settings_post(**changes))
    assert response.status_code == 400
    assert message in text(response)
    assert list(CharityProgram.objects.values()) == before


def test_another_shops_or_an_inactive_charity_as_default_is_refused(owner_client, shop):
    charity_add(shop, "Voedselbank")
    off = charity_add(shop, "Dierenasiel", active=False)
    elsewhere = charity_add(ShopFactory(), "Elders")
    for charity, message in [(elsewhere, "No such charity at this shop."),
                             (off, "Dierenasiel takes no donations at the moment.")]:
        response = owner_client.post(reverse("charity_program", args=[shop.slug]),
                                     settings_post(default_charity=str(charity.pk)))
        assert response.status_code == 400
        assert message in text(response)
    assert not CharityProgram.objects.filter(shop=shop, enabled=True).exists()
    assert not Shop.objects.get(pk=shop.pk).charity_enabled
    assert Charity.objects.get(shop=shop, is_default=True).name == "Voedselbank"


def test_a_bad_registration_number_is_refused_and_nothing_saved(owner_client, shop):
    response = owner_client.post(reverse("charity_create", args=[shop.slug]), {
        "name": "Voedselbank", "registration_kind": "anbi", "registration_number": "123456789",
        "active": "on"})
    assert response.status_code == 400
    assert "This is not a valid RSIN" in text(response)
    assert not Charity.objects.exists()


def test_a_logo_that_is_not_an_image_is_refused(owner_client, shop):
    response = owner_client.post(reverse("charity_create", args=[shop.slug]), {
        "name": "Voedselbank", "active": "on",
        "logo": SimpleUploadedFile("logo.png", b"not an image", content_type="image/png")})
    assert response.status_code == 400
    assert "Upload a JPEG, PNG, WebP or GIF image." in text(response)
    assert not Charity.objects.exists()


def png_bytes(size=(16, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 120, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_a_logo_uploaded_by_the_owner_is_stored_and_shown_to_members_and_the_public(
        owner_client, client, shop, member, media_root):
    picture = png_bytes()
    response = owner_client.post(reverse("charity_create", args=[shop.slug]), {
        "name": "Voedselbank", "active": "on",
        "logo": SimpleUploadedFile("logo.png", picture, content_type="image/png")})
    assert response.status_code == 302, text(response)
    charity = Charity.objects.get(shop=shop)
    assert charity.logo.name.startswith("charity/logos/")
    stored = media_root / charity.logo.name
    assert stored.read_bytes() == picture
    with Image.open(stored) as image:
        assert (image.format, image.size) == ("PNG", (16, 16))
    url = charity.logo.url
    assert url.startswith("/media/charity/logos/") and url.endswith(".png")
    edit = text(owner_client.get(reverse("charity_edit", args=[shop.slug, charity.pk])))
    assert f'<img src="{url}"' in edit
    program_set(shop)
    logo = f'<img class="charity-logo" src="{url}"'
    # The member's charity choice in the portal and the shop's public impact page.
    choice = signed_in(member.user).get(reverse("portal_charity", args=[shop.slug]))
    assert choice.status_code == 200 and logo in text(choice)
    client.logout()  # owner_client is this client: the public page is seen signed out
    impact = client.get(reverse("charity_public_impact", args=[shop.slug]))
    assert impact.status_code == 200 and logo in text(impact)


def test_the_owner_edits_a_charity_of_the_shop_only(owner_client, shop):
    charity = charity_add(shop, "Voedselbank")
    elsewhere = charity_add(ShopFactory(), "Elders")
    url = reverse("charity_edit", args=[shop.slug, charity.pk])
    response = owner_client.post(url, {"name": "Voedselbank Noord", "active": "on"})
    assert response.status_code == 302
    assert Charity.objects.get(pk=charity.pk).name == "Voedselbank Noord"
    response = owner_client.get(reverse("charity_edit", args=[shop.slug, elsewhere.pk]))
    assert response.status_code == 404


@pytest.fixture
def november(shop):
    """A closed-able November: a member's purchase with a round-up, to the default charity."""
    charity_add(shop, "Voedselbank", registration_kind="anbi", registration_number=VALID_RSIN)
    program_set(shop, points_per_unit=100)
    card = MembershipFactory(shop=shop)
    with time_machine.travel(NOVEMBER, tick=False):
        loyalty_services.purchase_record(shop=Shop.objects.get(pk=shop.pk), amount="49.50",
                                         membership_id=card.pk, extras={"round_up": True})
    return card


def test_an_open_month_shows_the_ledgers_totals_and_closes_into_statements(owner_client, shop,
                                                                           november):
    url = reverse("charity_month", args=[shop.slug, "2026-11"])
    with time_machine.travel(DECEMBER, tick=False):
        page = owner_client.get(url)
        assert "Close this month" in text(page)
        assert "0,99" in text(page) or "0.99" in text(page)  # 2% of 49.50, half up
        response = owner_client.post(reverse("charity_month_close", args=[shop.slug, "2026-11"]))
        assert response.status_code == 302
        again = owner_client.post(reverse("charity_month_close", args=[shop.slug, "2026-11"]),
                                  follow=True)
    assert "This month is closed already." in text(again)
    statement = Statement.objects.get()
    assert (statement.shop_funded, statement.customer_funded) == (Decimal("0.99"),
                                                                  Decimal("0.50"))
    csv_response = owner_client.get(reverse("charity_month_csv", args=[shop.slug, "2026-11"]))
    assert csv_response["Content-Type"].startswith("text/csv")
    assert "Voedselbank" in csv_response.content.decode()
    assert ",2,0.99,0.50,1.49,EUR," in csv_response.content.decode()
    printable = owner_client.get(reverse("charity_month_print", args=[shop.slug, "2026-11"]))
    assert printable.status_code == 200 and "Statement for Voedselbank" in text(printable)


def test_the_current_month_cannot_be_closed_and_an_open_one_has_no_csv(owner_client, shop,
                                                                        november):
    with time_machine.travel(NOVEMBER, tick=False):
        response = owner_client.post(reverse("charity_month_close", args=[shop.slug, "2026-11"]),
                                     follow=True)
    assert "A month can be closed once it has ended." in text(response)
    assert not Statement.objects.exists()
    assert owner_client.get(reverse("charity_month_csv", args=[shop.slug, "2026-11"])
                            ).status_code == 404
    assert owner_client.get(reverse("charity_month", args=[shop.slug, "nonsense"])
                            ).status_code == 404


def test_marking_a_statement_paid_needs_a_date_and_a_reference(owner_client, shop, november):
    with time_machine.travel(DECEMBER, tick=False):
        [statement] = services.month_close(shop=shop, month=dt.date(2026, 11, 1))
    url = reverse("charity_statement_paid", args=[shop.slug, statement.pk])
    prefix = f"statement-{statement.pk}"
    response = owner_client.post(url, {f"{prefix}-paid_on": "", f"{prefix}-reference": ""})
    assert response.status_code == 400
    assert "Enter the date it was paid." in text(response)
    assert Statement.objects.get().paid_on is None
    response = owner_client.post(url, {f"{prefix}-paid_on": "2026-12-01",
                                       f"{prefix}-reference": "NL-2026-11"})
    assert response.status_code == 302
    statement = Statement.objects.get()
    assert (statement.paid_on, statement.paid_reference) == (dt.date(2026, 12, 1), "NL-2026-11")


def test_a_statement_is_payable_when_the_return_window_of_its_last_purchase_ends(
        owner_client, shop):
    """Like the points, the donations are payable after the pending period: a month closed
    while its last purchase can still be returned shows when its statement can be paid, and
    marking it paid before then is refused, with nothing written."""
    charity_add(shop, "Voedselbank", registration_kind="anbi", registration_number=VALID_RSIN)
    program_set(shop)
    loyalty_services.program_rules_update(shop=shop, by=None, pending_days=14)
    card = MembershipFactory(shop=shop)
    for day in (10, 28):  # the second's window ends on 12 December
        with time_machine.travel(dt.datetime(2026, 11, day, 12, 0, tzinfo=dt.UTC), tick=False):
            loyalty_services.purchase_record(shop=Shop.objects.get(pk=shop.pk), amount="20.00",
                                             membership_id=card.pk)
    month_url = reverse("charity_month", args=[shop.slug, "2026-11"])
    with time_machine.travel(DECEMBER, tick=False):
        [statement] = services.month_close(shop=shop, month=dt.date(2026, 11, 1))
        assert statement.payable_from == dt.datetime(2026, 12, 12, 12, 0, tzinfo=dt.UTC)
        page = text(owner_client.get(month_url))
        assert "Payable from 12/12/2026, when the return window" in page
        assert "Mark paid" not in page
        url = reverse("charity_statement_paid", args=[shop.slug, statement.pk])
        prefix = f"statement-{statement.pk}"
        early = owner_client.post(url, {f"{prefix}-paid_on": "2026-12-03",
                                        f"{prefix}-reference": "NL-2026-11"})
        assert early.status_code == 400
        assert ("This statement can be paid from 12/12/2026, when the return window of the "
                "month&#x27;s last purchase ends.") in text(early)
        assert Statement.objects.get().paid_on is None
    with time_machine.travel(dt.datetime(2026, 12, 13, 9, 0, tzinfo=dt.UTC), tick=False):
        assert "Mark paid" in text(owner_client.get(month_url))
        before = owner_client.post(url, {f"{prefix}-paid_on": "2026-12-11",
                                         f"{prefix}-reference": "NL-2026-11"})
        assert before.status_code == 400 and Statement.objects.get().paid_on is None
        assert owner_client.post(url, {f"{prefix}-paid_on": "2026-12-13",
                                       f"{prefix}-reference": "NL-2026-11"}).status_code == 302
        assert Statement.objects.get().paid_on == dt.date(2026, 12, 13)
        sheet = owner_client.get(reverse("charity_month_csv", args=[shop.slug, "2026-11"]))
        assert ",2026-12-12,2026-12-13,NL-2026-11" in sheet.content.decode()
        printable = text(owner_client.get(reverse("charity_month_print",
                                                  args=[shop.slug, "2026-11"])))
        assert "Payable from" in printable and "12/12/2026" in printable


def test_the_owner_takes_back_a_gift_of_points(owner_client, shop, november):
    [gift] = services.points_donate(shop=shop, membership_id=november.pk, points=200)
    month = gift.month.strftime("%Y-%m")
    page = owner_client.get(reverse("charity_month", args=[shop.slug, month]))
    assert "Points given by members" in text(page)
    url = reverse("charity_points_gift_reverse", args=[shop.slug, gift.pk])
    assert owner_client.post(url, {"reason": "by mistake"}).status_code == 302
    assert Membership.objects.get(pk=november.pk).points_balance == 490  # 49 whole euros × 10
    again = owner_client.post(url, {"reason": "twice"}, follow=True)
    assert "taken back already" in text(again)
    assert Donation.objects.filter(reverses=gift).count() == 1


def test_staff_and_other_owners_do_not_reach_the_pages(client, shop, staff_user, other_owner):
    for user in (staff_user, other_owner):
        client.force_login(user)
        for name in ("charity_program", "charity_months", "charity_create"):
            assert client.get(reverse(name, args=[shop.slug])).status_code in {403, 404}
