"""PostgreSQL: the function a giving purchase reads the shop's charity program with, after a
shared transaction-scoped advisory lock on it (``charity.services.PROGRAM_LOCK_SPACE``, the
shop's id). A change of the program or a month close takes the same lock exclusively, so each
waits for the purchases giving now and they for it — as the row's ``FOR SHARE`` did, without
writing a lock into the one row every giving purchase reads (with several at once, a new
multixact each time, which PostgreSQL must later freeze). On this machine the two cost the
same to within the noise (docs/benchmarks.md, session 10). The row is read by a statement of
its own inside the function, so it sees what a change that held the lock committed (a
statement's snapshot is taken when it starts; the caller's started before it waited). SQLite
needs none of this: it lets one transaction write at a time."""

from django.db import migrations

PG_UP = """
CREATE OR REPLACE FUNCTION charity_program_shared(lock_space integer, shop bigint)
RETURNS SETOF charity_charityprogram AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(lock_space, shop::integer);
    RETURN QUERY SELECT * FROM charity_charityprogram p WHERE p.shop_id = shop;
END;
$$ LANGUAGE plpgsql VOLATILE;
"""
PG_DOWN = "DROP FUNCTION IF EXISTS charity_program_shared(integer, bigint);"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_UP, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DOWN, params=None)


class Migration(migrations.Migration):
    dependencies = [("charity", "0002_donation_append_only")]
    operations = [migrations.RunPython(forwards, backwards)]
