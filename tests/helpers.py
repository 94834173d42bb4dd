"""Small helpers shared by the view tests."""

from __future__ import annotations

from django.test import Client


def text(response) -> str:
    return response.content.decode()


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def balance(membership) -> int:
    membership.refresh_from_db(fields=["points_balance"])
    return membership.points_balance
