"""What a shop's public page tells (members/views/public.py): the shop's colours (theme.css),
the program in one sentence, the rewards (a panel of the rewards app, rendered in the same
request), the stamp card, the contact details, the privacy statement next to the consent box,
and no birthday promise unless the shop gives a birthday gift; the joined page's QR code.

The shop here speaks English, so the expected words are the source strings."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils.html import escape

from loyalty import selectors as loyalty_selectors
from loyalty.models import Membership, Shop
from loyalty.services import program_rules_current, program_rules_update
from loyalty.templatetags.trouw import phone
from members import selectors as member_selectors
from rewards.models import RewardKind
from rewards.services import reward_create
from tests.factories import MembershipFactory, ShopFactory, UserFactory
from tests.helpers import signed_in, text
from tests.members.stamp_shops import stamp_card_start, stamps_give

pytestmark = pytest.mark.django_db


@pytest.fixture
def bakery(db):
    return ShopFactory(name="Bakkerij Zon", slug="bakkerij-zon", language="en", country="NL",
                       brand_color="#1d4ed8")


def page(client, shop) -> str:
    response = client.get(f"/s/{shop.slug}/")
    assert response.status_code == 200
    return text(response)


def reward_new(shop, **fields):
    values = {"kind": RewardKind.FREE_PRODUCT, "name": "Gratis koffie", "points_cost": 200,
              "product_name": "Koffie"}
    values.update(fields)
    return reward_create(shop=shop, **values)


# --- the shop's colours ----------------------------------------------------------------------


def theme_href(content: str) -> str:
    match = re.search(r'<link rel="stylesheet" href="(/s/[^"]+/theme\.css\?v=[0-9a-f]+)">',
                      content)
    assert match, "no theme stylesheet linked"
    return match.group(1).replace("&amp;", "&")


def test_the_page_is_in_the_shops_colour(client, bakery):
    content = page(client, bakery)

    assert 'class="container shop-themed theme-bakkerij-zon"' in content
    css = client.get(theme_href(content))
    assert css.status_code == 200
    assert css["Content-Type"] == "text/css; charset=utf-8"
    body = text(css)
    assert ".theme-bakkerij-zon {" in body
    assert "--brand: #1d4ed8;" in body
    assert "--on-brand: #ffffff;" in body


def test_text_on_a_light_colour_is_dark(client, bakery):
    Shop.objects.filter(pk=bakery.pk).update(brand_color="#FFCC00")
    body = text(client.get(f"/s/{bakery.slug}/theme.css"))
    assert "--brand: #ffcc00;" in body
    assert "--on-brand: #111827;" in body


def test_the_stylesheet_is_kept_for_a_year_until_the_colour_changes(client, bakery):
    href = theme_href(page(client, bakery))
    response = client.get(href)
    assert "max-age=31536000" in response["Cache-Control"]
    assert "immutable" in response["Cache-Control"]

    Shop.objects.filter(pk=bakery.pk).update(brand_color="#15803d")

    new_href = theme_href(page(client, bakery))
    assert new_href != href
    assert "--brand: #15803d;" in text(client.get(new_href))
    # The old address (a browser's cached page) is answered with the new colour, briefly.
    stale = client.get(href)
    assert "--brand: #15803d;" in text(stale)
    assert "max-age=300" in stale["Cache-Control"]
    assert "immutable" not in stale["Cache-Control"]


def test_a_colour_that_is_not_a_colour_never_reaches_the_stylesheet(client, bakery):
    Shop.objects.filter(pk=bakery.pk).update(brand_color="red;}")
    body = text(client.get(f"/s/{bakery.slug}/theme.css"))
    assert "red" not in body
    assert "--brand: #8a4b2a;" in body


def test_the_stylesheet_of_an_unknown_shop_is_404(client):
    assert client.get("/s/no-such-shop/theme.css").status_code == 404


def test_the_stylesheet_takes_no_post(client, bakery):
    assert client.post(f"/s/{bakery.slug}/theme.css").status_code == 405


# --- what customers get ----------------------------------------------------------------------


def test_the_page_says_the_program_in_one_sentence(client, bakery):
    program_rules_update(shop=bakery, by=None, points_per_unit=5)
    rules = loyalty_selectors.program_rules_in_force(shop=bakery)
    sentence = loyalty_selectors.program_sentence(rules=rules, currency="EUR")

    content = page(client, bakery)

    assert sentence.startswith("5 points for every")
    assert f'<p class="shop-hero-sentence">{escape(sentence)}</p>' in content


def test_the_page_shows_the_rewards_without_a_second_request(client, bakery, other_shop):
    reward_new(bakery, name="Gratis koffie", points_cost=200, description="Elke koffie.")
    reward_new(bakery, name="Taart", points_cost=1)
    reward_new(bakery, name="Uit het assortiment", active=False)
    reward_new(bakery, name="Uitverkocht", stock_total=1)
    bakery.rewards.filter(name="Uitverkocht").update(stock_claimed=1)
    reward_new(other_shop, name="Kaasplank")

    content = page(client, bakery)

    panel = content.split('<section class="public-panel public-rewards"')[1].split("</section>")[0]
    assert "Gratis koffie" in panel
    assert "Elke koffie." in panel
    assert "200 points" in panel
    assert "1 point<" in panel
    assert "Uit het assortiment" not in content
    assert "Uitverkocht" not in content
    assert "Kaasplank" not in content
    assert "hx-get" not in panel  # in the page itself, not loaded afterwards


def test_the_rewards_panel_is_a_page_of_its_own_too(client, bakery):
    reward_new(bakery, name="Gratis koffie")
    response = client.get(f"/s/{bakery.slug}/rewards/")
    assert response.status_code == 200
    assert "Gratis koffie" in text(response)
    assert "<html" not in text(response)
    assert client.get("/s/no-such-shop/rewards/").status_code == 404
    assert client.post(f"/s/{bakery.slug}/rewards/").status_code == 405


def test_a_shop_without_rewards_shows_no_empty_panel(client, bakery):
    assert "public-rewards" not in page(client, bakery)


def test_the_rewards_stay_on_the_page_after_a_bad_join(client, bakery):
    reward_new(bakery, name="Gratis koffie")
    response = client.post(f"/s/{bakery.slug}/", {"name": ""})
    assert response.status_code == 400
    assert "Gratis koffie" in text(response)
    assert not Membership.objects.exists()


def test_a_panel_that_does_not_answer_leaves_the_page_standing(client, bakery, settings):
    reward_new(bakery, name="Gratis koffie")
    # shop_joined redirects a browser that did not just join: not a 200, so it is left out.
    settings.TROUW_PUBLIC_PAGE_PANELS = ["shop_joined", "public_rewards"]
    content = page(client, bakery)
    assert "Gratis koffie" in content
    assert 'name="name"' in content


def test_no_panels_without_the_setting(client, bakery, settings):
    reward_new(bakery, name="Gratis koffie")
    settings.TROUW_PUBLIC_PAGE_PANELS = []
    assert "Gratis koffie" not in page(client, bakery)


# --- stamp cards -----------------------------------------------------------------------------


def test_a_stamp_shop_shows_the_card_a_visitor_would_get(client, bakery):
    stamp_card_start(bakery, stamps_per_card=10, reward="a free coffee")
    reward_new(bakery, name="Gratis taart", points_cost=10)

    content = page(client, bakery)

    assert "A stamp for every purchase from" in content
    assert "0 of 10 stamps" in content
    assert content.count('class="stamp"') == 10
    assert "10 stamps give a free coffee." in content
    assert "10 stamps</span>" in content  # the reward costs stamps
    assert " points" not in content


def test_a_member_of_a_stamp_shop_sees_their_stamps(bakery):
    user = UserFactory()
    member = MembershipFactory(shop=bakery, user=user, email=user.email)
    stamp_card_start(bakery, stamps_per_card=10)
    stamps_give(bakery, member, 7)

    content = page(signed_in(user), bakery)

    assert "You are a member already." in content
    assert "7 of 10 stamps" in content
    assert content.count('class="stamp stamped"') == 7


def test_a_member_of_a_points_shop_sees_their_points(bakery):
    program_rules_current(shop=bakery)
    user = UserFactory()
    member = MembershipFactory(shop=bakery, user=user, email=user.email)
    stamps_give(bakery, member, 1500)  # an adjustment, as points
    content = page(signed_in(user), bakery)
    assert "You have <strong>1,500 points</strong>." in content
    assert "stamp-card" not in content


# --- contact details -------------------------------------------------------------------------


def test_the_contact_details_are_readable_and_linked(client, bakery):
    Shop.objects.filter(pk=bakery.pk).update(
        address="Zonnestraat 1, 1234 AB Utrecht", phone="+31301234567",
        email="hallo@zon.example", website="https://www.zon.example/")

    content = page(client, bakery)

    national = phone("+31301234567", "NL")
    assert national.startswith("030")
    assert "Zonnestraat 1<br>1234 AB Utrecht" in content
    assert f'<a href="tel:+31301234567">{national}</a>' in content
    assert '<a href="mailto:hallo@zon.example">hallo@zon.example</a>' in content
    assert '<a href="https://www.zon.example/" rel="noopener">zon.example</a>' in content


def test_no_empty_contact_lines(client, bakery):
    content = page(client, bakery)
    assert "tel:" not in content
    assert "mailto:" not in content
    assert 'class="contact-label">Address' not in content


# --- privacy ---------------------------------------------------------------------------------


def consent_help(content: str) -> str:
    match = re.search(r'<small class="help" id="id_marketing_consent_helptext">(.*?)</small>',
                      content, re.S)
    assert match, "no help text next to the consent box"
    return match.group(1)


def test_the_consent_box_links_the_standard_privacy_statement(client, bakery):
    content = page(client, bakery)
    assert f'href="/s/{bakery.slug}/privacy/"' in consent_help(content)
    box = re.search(r'<input[^>]*name="marketing_consent"[^>]*>', content).group(0)
    assert 'aria-describedby="id_marketing_consent_helptext"' in box


def test_the_consent_box_links_the_shops_own_statement(client, bakery):
    Shop.objects.filter(pk=bakery.pk).update(privacy_url="https://zon.example/privacy")
    content = page(client, bakery)
    assert 'href="https://zon.example/privacy"' in consent_help(content)
    assert f'href="/s/{bakery.slug}/privacy/"' not in content


def test_the_privacy_statement_in_plain_words(client, bakery):
    Shop.objects.filter(pk=bakery.pk).update(email="hallo@zon.example", phone="+31301234567",
                                             address="Zonnestraat 1, 1234 AB Utrecht")

    response = client.get(f"/s/{bakery.slug}/privacy/")

    assert response.status_code == 200
    content = text(response)
    for heading in ("Who is responsible", "What is stored", "Why", "How long", "Your rights",
                    "How to leave"):
        assert f">{heading}</h2>" in content
    assert "Bakkerij Zon runs this loyalty program" in content
    assert '<a href="mailto:hallo@zon.example">' in content
    assert "Your birthday, only if you give it." in content
    assert "Autoriteit Persoonsgegevens" in content  # a Dutch shop
    assert 'class="container shop-themed theme-bakkerij-zon"' in content


def test_the_privacy_statement_names_the_authority_of_the_shops_country(client):
    shop = ShopFactory(country="SE", language="en")
    assert "Integritetsskyddsmyndigheten" in text(client.get(f"/s/{shop.slug}/privacy/"))


def test_the_privacy_statement_of_an_unknown_shop_is_404(client, bakery):
    assert client.get("/s/no-such-shop/privacy/").status_code == 404
    assert client.post(f"/s/{bakery.slug}/privacy/").status_code == 405


# --- the birthday ----------------------------------------------------------------------------


def test_no_birthday_promise_without_a_birthday_gift(client, bakery):
    content = page(client, bakery)
    assert 'name="birthday"' in content
    assert "id_birthday_helptext" not in content
    assert "treat" not in content.lower()
    assert "on your birthday" not in content.lower()
    privacy = text(client.get(f"/s/{bakery.slug}/privacy/"))
    assert "on your birthday" not in privacy.lower()


def test_a_birthday_gift_switches_the_promise_on(client, bakery, monkeypatch):
    monkeypatch.setattr(member_selectors, "shop_birthday_gift",
                        lambda *, shop: "a free cake" if shop.pk == bakery.pk else None)

    content = page(client, bakery)

    assert "On your birthday you get a free cake." in content
    assert '<small class="help" id="id_birthday_helptext">On your birthday you get a free cake.' \
        in content
    privacy = text(client.get(f"/s/{bakery.slug}/privacy/"))
    assert "to give you a free cake on your birthday" in privacy


# --- after a phone-only join -----------------------------------------------------------------


def join_by_phone(client, shop) -> Membership:
    response = client.post(f"/s/{shop.slug}/", {"name": "Fenna Bos", "phone": "0612345678"})
    assert response.status_code == 302
    return Membership.objects.get(shop=shop)


def test_the_joined_page_shows_the_card_with_its_qr_code(client, bakery):
    membership = join_by_phone(client, bakery)

    content = text(client.get(f"/s/{bakery.slug}/joined/"))

    svg = re.search(r"<svg[^>]*class=\"card-qr\".*?</svg>", content, re.S)
    assert svg, "no QR code"
    assert membership.card_number_display in content
    assert "Show this at the counter" in content
    assert 'class="container shop-themed theme-bakkerij-zon"' in content


def test_the_joined_page_of_a_stamp_shop_shows_the_empty_card(client, bakery):
    stamp_card_start(bakery, stamps_per_card=8)
    join_by_phone(client, bakery)
    content = text(client.get(f"/s/{bakery.slug}/joined/"))
    assert "0 of 8 stamps" in content
    assert "see your stamps online" in content


def test_the_joined_qr_code_is_not_shown_to_anyone_else(client, bakery):
    membership = join_by_phone(client, bakery)
    response = Client().get(f"/s/{bakery.slug}/joined/")
    assert response.status_code == 302
    assert membership.card_number_display not in text(response)
