"""Migration 0014: on PostgreSQL the cards' table leaves room on its pages (fillfactor 80), so
that a balance update can be a HOT update — the row updated in place, none of the table's
indexes written — which holds as long as no index holds the balance or the last purchase."""

from __future__ import annotations

import pytest
from django.db import connection

from loyalty.models import Membership
from tests.conftest import require_service

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _postgres():
    require_service(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL)")


def test_the_cards_table_leaves_a_fifth_of_each_page_free():
    _postgres()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s",
                       [Membership._meta.db_table])
        assert "fillfactor=80" in (cursor.fetchone()[0] or [])


def test_no_index_of_the_cards_table_holds_what_purchases_update():
    _postgres()
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s",
                       [Membership._meta.db_table])
        definitions = [row[0] for row in cursor.fetchall()]
    assert definitions
    for updated in ("points_balance", "last_purchase_at"):
        assert not [d for d in definitions if updated in d], updated

