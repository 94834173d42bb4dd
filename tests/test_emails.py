"""E-mails: composed in the member's language with the shop's name, logo (an absolute address)
and colour, HTML with inlined CSS and a plain-text part; marketing e-mails carry the one-click
unsubscribe (a signed link in the footer and the RFC 8058 headers); the kinds' renderers."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from loyalty import services
from loyalty.emails import absolute
from loyalty.models import OutboxMessage
from members.emails import welcome
from rewards import services as rewards_services
from rewards.emails import voucher_expiring, voucher_issued
from rewards.models import RewardKind, Voucher, VoucherStatus
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _message(shop, membership, kind="welcome", **fields):
    return OutboxMessage.objects.create(
        shop=shop, membership=membership, kind=kind, key=f"{kind}:{membership.pk}",
        to=membership.email, language=fields.pop("language", membership.language), **fields)


@pytest.fixture
def voucher(shop):
    member = MembershipFactory(shop=shop, email="v@example.com", name="Vera",
                               marketing_consent=True, language="nl")
    services.purchase_record(shop=shop, amount="20.00", membership_id=member.pk)
    reward = rewards_services.reward_create(shop=shop, kind=RewardKind.FREE_PRODUCT,
                                            name="Gratis koffie", points_cost=100,
                                            product_name="Koffie")
    return rewards_services.voucher_claim(shop=shop, membership_id=member.pk,
                                          reward_id=reward.pk)


class TestCompose:
    def test_the_shop_logo_is_an_absolute_address(self, shop, media_root, settings):
        settings.TROUW_BASE_URL = "https://trouw.example"
        shop.logo = SimpleUploadedFile("logo.png", PNG, content_type="image/png")
        shop.save()
        membership = MembershipFactory(shop=shop, email="a@example.com")
        email = welcome(_message(shop, membership))
        match = re.search(r'<img src="([^"]+)"', email.html)
        assert match and match.group(1).startswith("https://trouw.example/media/shops/logos/")

    def test_without_logo_the_name_stands_on_the_shop_colour(self, shop):
        shop.brand_color = "#123456"
        shop.save()
        email = welcome(_message(shop, MembershipFactory(shop=shop, email="a@example.com")))
        assert "#123456" in email.html and "<img" not in email.html
        assert "Bakkerij Noord" in email.html

    def test_in_the_members_language(self, shop):
        membership = MembershipFactory(shop=shop, email="a@example.com", language="sv")
        email = welcome(_message(shop, membership))
        assert 'lang="sv"' in email.html

    def test_html_has_inlined_css_and_no_style_block_and_text_is_plain(self, shop):
        email = welcome(_message(shop, MembershipFactory(shop=shop, email="a@example.com")))
        assert "<style" not in email.html
        assert re.search(r'<div class="card" style="[^"]*background', email.html)
        assert "<" not in email.text
        assert email.headers == {}  # transactional: no unsubscribe

    def test_absolute_leaves_full_addresses_alone(self, settings):
        settings.TROUW_BASE_URL = "https://trouw.example/"
        assert absolute("/s/x/") == "https://trouw.example/s/x/"
        assert absolute("https://cdn.example/a.png") == "https://cdn.example/a.png"


class TestMarketing:
    def test_a_marketing_email_has_the_one_click_unsubscribe(self, shop, voucher, settings):
        settings.TROUW_BASE_URL = "https://trouw.example"
        message = _message(shop, voucher.membership, kind="voucher_expiring",
                           context={"voucher_id": voucher.pk})
        email = voucher_expiring(message)
        link = email.headers["List-Unsubscribe"][1:-1]
        assert link.startswith("https://trouw.example/unsubscribe/")
        assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert f'href="{link}"' in email.html
        assert link in email.text
        token = link.rstrip("/").rsplit("/", 1)[1]
        assert services.unsubscribe_membership(token=token).pk == voucher.membership_id

    def test_the_sent_message_carries_the_headers(self, shop, voucher):
        from django.core import mail

        Voucher.objects.filter(pk=voucher.pk).update(created_at=timezone.now()
                                                     - dt.timedelta(days=5))
        message = services.outbox_write(
            shop=shop, kind="voucher_expiring", key="voucher_expiring:x",
            to=voucher.membership.email, language="nl", membership=voucher.membership,
            context={"voucher_id": voucher.pk})
        services.outbox_send_one(message_id=message.pk)
        sent = mail.outbox[-1]
        assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert sent.message()["List-Unsubscribe"].startswith("<http")


class TestRenderers:
    def test_voucher_issued_shows_the_code_and_date_in_the_shop_time_zone(self, shop, voucher):
        message = OutboxMessage.objects.get(key=f"voucher_issued:{voucher.pk}")
        email = voucher_issued(message)
        code = rewards_services.voucher_code_display(voucher.code)
        assert code in email.text and code in email.html
        # The shop's date: late in the evening of 31 December UTC it is already next year.
        local = timezone.localtime(voucher.expires_at, zoneinfo.ZoneInfo(shop.time_zone))
        assert "Gratis koffie" in email.subject
        assert str(local.year) in email.text

    @pytest.mark.parametrize("status", [VoucherStatus.USED, VoucherStatus.CANCELLED,
                                        VoucherStatus.EXPIRED])
    def test_a_voucher_no_longer_open_renders_nothing(self, shop, voucher, status):
        Voucher.objects.filter(pk=voucher.pk).update(status=status, used_at=timezone.now())
        message = OutboxMessage.objects.get(key=f"voucher_issued:{voucher.pk}")
        assert voucher_issued(message) is None
        assert voucher_expiring(message) is None

    def test_a_voucher_past_its_date_renders_nothing(self, shop, voucher):
        Voucher.objects.filter(pk=voucher.pk).update(expires_at=timezone.now())
        message = OutboxMessage.objects.get(key=f"voucher_issued:{voucher.pk}")
        assert voucher_issued(message) is None

    def test_another_members_voucher_is_not_shown(self, shop, voucher):
        other = MembershipFactory(shop=shop, email="o@example.com")
        message = _message(shop, other, kind="voucher_issued",
                           context={"voucher_id": voucher.pk})
        assert voucher_issued(message) is None

    def test_welcome_links_the_portal_for_a_member_with_a_login(self, shop, member):
        email = welcome(_message(shop, member))
        assert f"/portal/{shop.slug}/" in email.text
        assert member.card_number_display in email.html

    def test_welcome_links_the_shop_page_without_a_login(self, shop):
        membership = MembershipFactory(shop=shop, email="a@example.com", user=None)
        email = welcome(_message(shop, membership))
        assert f"/s/{shop.slug}/" in email.text
