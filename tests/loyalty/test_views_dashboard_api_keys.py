"""Revoking an API key asks first: GET shows what happens, only the confirmation's POST
revokes, and it works without JavaScript (a link, a page, a form)."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from pytest_django.asserts import assertRedirects

from loyalty import services
from tests.helpers import text

pytestmark = pytest.mark.django_db


def keys_url(shop) -> str:
    return f"/dashboard/{shop.slug}/api-keys/"


def revoke_url(shop, key_id) -> str:
    return f"/dashboard/{shop.slug}/api-keys/{key_id}/revoke/"


def test_the_list_links_to_the_question_not_to_a_form_that_revokes(owner_client, shop):
    key, _raw = services.api_key_create(shop=shop, name="till-1")
    page = text(owner_client.get(keys_url(shop)))
    assert f'href="{revoke_url(shop, key.pk)}"' in page
    assert f'action="{revoke_url(shop, key.pk)}"' not in page


def test_the_question_names_the_key_and_what_happens(owner_client, shop):
    key, _raw = services.api_key_create(shop=shop, name="till-1")

    response = owner_client.get(revoke_url(shop, key.pk))

    assert response.status_code == 200
    page = text(response)
    assert "Revoke “till-1”?" in page
    assert "Tills using it stop working within a few seconds." in page
    assert '<form method="post"' in page  # posts to itself
    assert '<button class="btn btn-danger" type="submit">Revoke</button>' in page
    assert f'href="{keys_url(shop)}">Cancel</a>' in page
    key.refresh_from_db()
    assert key.revoked_at is None


def test_confirming_revokes(owner_client, shop):
    key, _raw = services.api_key_create(shop=shop, name="till-1")
    response = owner_client.post(revoke_url(shop, key.pk))
    assertRedirects(response, keys_url(shop), fetch_redirect_response=False)
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_asking_about_a_revoked_key_says_so(owner_client, shop):
    key, _raw = services.api_key_create(shop=shop, name="till-1")
    services.api_key_revoke(shop=shop, api_key_id=key.pk)
    response = owner_client.get(revoke_url(shop, key.pk))
    assertRedirects(response, keys_url(shop), fetch_redirect_response=False)
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "“till-1” is revoked already."]


def test_another_shops_key_is_not_found(owner_client, shop, other_shop):
    theirs, _raw = services.api_key_create(shop=other_shop, name="their-till")
    response = owner_client.get(revoke_url(shop, theirs.pk))
    assert response.status_code == 404
    assert "their-till" not in text(response)
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_staff_cannot_even_ask(staff_client, shop):
    key, _raw = services.api_key_create(shop=shop, name="till-1")
    assert staff_client.get(revoke_url(shop, key.pk)).status_code == 404
