"""The owner's Badges page: create from a template with its parameters (our own messages for bad
input, nothing saved), edit, switch off, how many members earned each; an uploaded icon is
validated; another shop's badge is a 404."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.helpers import text
from tests.tiers.badges.conftest import buy, make_badge
from tiers.badges.models import Badge

pytestmark = pytest.mark.django_db


def url(shop, *parts) -> str:
    return "/".join([f"/dashboard/{shop.slug}/badges", *map(str, parts)]) + "/"


def test_the_page_lists_badges_with_how_many_earned_each(owner_client, shop, member):
    badge = make_badge(shop, "first_purchase", name="First visit", bonus_points=25)
    make_badge(shop, "visits", name="Regular", count=10)
    buy(shop, member)
    page = owner_client.get(url(shop))
    assert page.status_code == 200
    html = text(page)
    assert "First visit" in html and "Regular" in html
    assert "Earned by 1 member" in html and "Earned by 0 members" in html
    assert "Visit on 10 different days." in html
    assert f'href="{url(shop, badge.pk)}"' in html
    assert 'name="viewport"' in html  # the phone layout of base.html
    assert "/static/tiers/badges/badges.css" in html


def test_the_dashboard_menu_links_the_page(owner_client, shop):
    html = text(owner_client.get(f"/dashboard/{shop.slug}/"))
    assert url(shop) in html


def test_adding_starts_with_the_choice_of_template(owner_client, shop):
    html = text(owner_client.get(url(shop, "new")))
    for template in ("first_purchase", "visits", "spend_total", "spend_within", "week_streak",
                     "weekdays", "categories", "referrals"):
        assert f"?template={template}" in html
    assert owner_client.get(url(shop, "new") + "?template=nonsense").status_code == 400


def test_a_template_form_shows_only_its_parameters(owner_client, shop):
    html = text(owner_client.get(url(shop, "new") + "?template=visits"))
    assert 'name="count"' in html and 'name="amount"' not in html
    assert "Number of visits" in html
    html = text(owner_client.get(url(shop, "new") + "?template=spend_within"))
    assert all(f'name="{n}"' in html for n in ("amount", "days", "starts_on", "hidden"))
    assert 'name="count"' not in html
    html = text(owner_client.get(url(shop, "new") + "?template=first_purchase"))
    assert not any(f'name="{n}"' in html for n in ("count", "amount", "days", "starts_on"))


def test_creating_a_badge_saves_it_and_goes_back_to_the_list(owner_client, shop):
    response = owner_client.post(url(shop, "new") + "?template=visits", {
        "name": "Regular", "icon": "coffee", "count": "10", "bonus_points": "50",
        "active": "on"})
    assert response.status_code == 302 and response["Location"] == url(shop)
    badge = Badge.objects.get(shop=shop)
    assert (badge.template, badge.name, badge.icon, badge.count, badge.bonus_points,
            badge.active) == ("visits", "Regular", "coffee", 10, 50, True)


def test_a_challenge_is_saved_with_its_window(owner_client, shop):
    response = owner_client.post(url(shop, "new") + "?template=spend_within", {
        "name": "December", "icon": "gift", "amount": "49,95", "days": "31",
        "starts_on": "2026-12-01", "hidden": "on", "active": "on"})
    assert response.status_code == 302
    badge = Badge.objects.get(shop=shop)
    assert (str(badge.amount), badge.days, badge.starts_on, badge.hidden) == (
        "49.95", 31, dt.date(2026, 12, 1), True)


@pytest.mark.parametrize(("template", "values", "field", "message"), [
    ("visits", {"count": ""}, "count", "Enter how many visits earn the badge"),
    ("visits", {"count": "0"}, "count", "Enter how many visits earn the badge"),
    ("visits", {"count": "abc"}, "count", "Enter how many visits earn the badge"),
    ("visits", {"count": "1001"}, "count", "Enter how many visits earn the badge"),
    ("visits", {"count": "2.5"}, "count", "Enter how many visits earn the badge"),
    ("weekdays", {"count": "8"}, "count", "Enter on how many different weekdays: 1 to 7."),
    ("week_streak", {"count": "-1"}, "count", "Enter how many weeks in a row"),
    ("categories", {"count": ""}, "count", "Enter from how many product categories"),
    ("spend_total", {"amount": ""}, "amount", "Enter the amount to spend"),
    ("spend_total", {"amount": "0"}, "amount", "Enter the amount to spend"),
    ("spend_total", {"amount": "1e3"}, "amount", "Enter the amount to spend"),
    ("spend_total", {"amount": "12.345"}, "amount", "Enter the amount to spend"),
    ("spend_within", {"amount": "50", "days": "0", "starts_on": "2026-12-01"}, "days",
     "Enter how many days the challenge runs: 1 to 366."),
    ("spend_within", {"amount": "50", "days": "400", "starts_on": "2026-12-01"}, "days",
     "Enter how many days the challenge runs: 1 to 366."),
    ("spend_within", {"amount": "50", "days": "30", "starts_on": ""}, "starts_on",
     "Enter the day the challenge starts."),
    ("spend_within", {"amount": "50", "days": "30", "starts_on": "31-31-2026"}, "starts_on",
     "Enter the start as a date, e.g. 2026-12-01."),
    ("first_purchase", {"name": ""}, "name", "Give the badge a name"),
    ("first_purchase", {"name": "x" * 61}, "name", "Keep the name to 60 characters."),
    ("first_purchase", {"icon": ""}, "icon", "Choose an icon, or upload your own."),
    ("first_purchase", {"icon": "skull"}, "icon", "Choose one of the icons shown."),
    ("first_purchase", {"bonus_points": "-5"}, "bonus_points",
     "Enter the bonus points as a whole number from 0 to 100,000."),
    ("first_purchase", {"bonus_points": "100001"}, "bonus_points",
     "Enter the bonus points as a whole number from 0 to 100,000."),
    ("first_purchase", {"bonus_points": "ten"}, "bonus_points",
     "Enter the bonus points as a whole number from 0 to 100,000."),
])
def test_bad_input_gets_our_message_and_saves_nothing(owner_client, shop, template, values,
                                                      field, message):
    body = {"name": "Badge", "icon": "star", "bonus_points": "0", "active": "on", **values}
    response = owner_client.post(url(shop, "new") + f"?template={template}", body)
    assert response.status_code == 400
    form = response.context["form"]
    assert field in form.errors, form.errors
    assert message in " ".join(form.errors[field])
    assert message.split(":")[0].replace("“", "") in text(response).replace("“", "")
    assert Badge.objects.count() == 0


def test_several_bad_fields_are_all_named_at_once(owner_client, shop):
    response = owner_client.post(url(shop, "new") + "?template=spend_within", {
        "name": "", "icon": "", "amount": "x", "days": "", "starts_on": ""})
    assert response.status_code == 400
    assert set(response.context["form"].errors) >= {"name", "icon", "amount", "days",
                                                    "starts_on"}
    assert Badge.objects.count() == 0


def test_editing_changes_the_parameters_not_the_template(owner_client, shop):
    badge = make_badge(shop, "visits", name="Regular", count=10)
    page = owner_client.get(url(shop, badge.pk))
    assert page.status_code == 200 and 'value="10"' in text(page)
    response = owner_client.post(url(shop, badge.pk) + "?template=spend_total", {
        "name": "Loyal", "icon": "heart", "count": "12", "amount": "99", "bonus_points": "5",
        "active": "on"})
    assert response.status_code == 302
    badge.refresh_from_db()
    assert (badge.template, badge.name, badge.count, badge.amount, badge.icon) == (
        "visits", "Loyal", 12, None, "heart")


def test_a_bad_edit_changes_nothing(owner_client, shop):
    badge = make_badge(shop, "visits", name="Regular", count=10)
    response = owner_client.post(url(shop, badge.pk), {
        "name": "Loyal", "icon": "heart", "count": "zero", "bonus_points": "5"})
    assert response.status_code == 400
    badge.refresh_from_db()
    assert (badge.name, badge.count) == ("Regular", 10)


def test_switching_off_and_on(owner_client, shop, member):
    badge = make_badge(shop, "first_purchase", name="First")
    response = owner_client.post(url(shop, badge.pk, "toggle"), follow=True)
    assert "is switched off" in text(response)
    badge.refresh_from_db()
    assert badge.active is False
    assert buy(shop, member).news == []
    owner_client.post(url(shop, badge.pk, "toggle"))
    badge.refresh_from_db()
    assert badge.active is True
    assert owner_client.get(url(shop, badge.pk, "toggle")).status_code == 405


def test_another_shops_badge_is_not_found(owner_client, shop, other_shop):
    theirs = make_badge(other_shop, "first_purchase", name="Theirs")
    assert owner_client.get(url(shop, theirs.pk)).status_code == 404
    assert owner_client.post(url(shop, theirs.pk), {"name": "Mine", "icon": "star"}
                             ).status_code == 404
    assert owner_client.post(url(shop, theirs.pk, "toggle")).status_code == 404
    theirs.refresh_from_db()
    assert (theirs.name, theirs.active) == ("Theirs", True)
    assert "Theirs" not in text(owner_client.get(url(shop)))


def test_staff_and_members_cannot_open_the_page(staff_client, shop):
    assert staff_client.get(url(shop)).status_code == 404


# --- Uploaded icons --------------------------------------------------------------------------


def _png(size=(32, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, format="PNG")
    return buffer.getvalue()


CLEAN_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
             b'<circle cx="5" cy="5" r="4" fill="gold"/></svg>')


def _upload(owner_client, shop, name, content, content_type):
    return owner_client.post(url(shop, "new") + "?template=first_purchase", {
        "name": "Own", "icon": "", "bonus_points": "0", "active": "on",
        "icon_upload": SimpleUploadedFile(name, content, content_type=content_type)})


def test_an_uploaded_png_or_clean_svg_is_kept(owner_client, shop, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    assert _upload(owner_client, shop, "own.png", _png(), "image/png").status_code == 302
    assert _upload(owner_client, shop, "own.svg", CLEAN_SVG, "image/svg+xml").status_code == 302
    assert [b.icon_upload.name.split(".")[-1] for b in Badge.objects.order_by("pk")] == [
        "png", "svg"]
    html = text(owner_client.get(url(shop)))
    assert "/media/badges/" in html


@pytest.mark.parametrize(("name", "content", "message"), [
    ("evil.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
     "This SVG holds more than shapes"),
    ("evil.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>',
     "This SVG holds more than shapes"),
    ("evil.svg", b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
                 b'<use x:href="https://evil.example/a.svg#x"/></svg>',
     "This SVG holds more than shapes"),
    ("evil.svg", b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaa">]>'
                 b'<svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
     "This SVG holds more than shapes"),
    ("evil.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>hi</p>'
                 b'</foreignObject></svg>', "This SVG holds more than shapes"),
    ("evil.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><rect fill="url(https://x.example/p)"/>'
                 b'</svg>', "This SVG holds more than shapes"),
    ("broken.svg", b"<svg", "That file is not a valid SVG image."),
    ("html.svg", b"<html><body>hi</body></html>", "That file is not a valid SVG image."),
    ("fake.png", b"GIF89a....", "That file is not a PNG image."),
    ("cut.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "That PNG image is damaged"),
    ("icon.gif", b"GIF89a....", "Upload an SVG or PNG icon."),
    ("big.svg", b"<svg xmlns='http://www.w3.org/2000/svg'>" + b" " * 110_000 + b"</svg>",
     "An icon may be 100 KB at most"),
])
def test_a_bad_icon_is_refused_with_our_message(owner_client, shop, settings, tmp_path, name,
                                                content, message):
    settings.MEDIA_ROOT = tmp_path
    response = _upload(owner_client, shop, name, content, "application/octet-stream")
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["icon_upload"])
    assert Badge.objects.count() == 0
    assert not any(tmp_path.rglob("*.*"))


def test_an_empty_file_is_refused(owner_client, shop):
    response = _upload(owner_client, shop, "empty.svg", b"", "image/svg+xml")
    assert response.status_code == 400
    assert Badge.objects.count() == 0
