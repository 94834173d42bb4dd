"""The ledger is append-only: the database refuses UPDATE and DELETE of an entry.

PostgreSQL: a trigger for UPDATE and DELETE (TRUNCATE, used to reset test databases, is a
separate privilege and stays possible). SQLite: a trigger for UPDATE; DELETE stays possible there
because Django's test runner empties tables with DELETE between tests.
"""

from django.db import migrations

PG_UP = """
CREATE OR REPLACE FUNCTION loyalty_ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER loyalty_ledgerentry_append_only
    BEFORE UPDATE OR DELETE ON loyalty_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION loyalty_ledger_append_only();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS loyalty_ledgerentry_append_only ON loyalty_ledgerentry;
DROP FUNCTION IF EXISTS loyalty_ledger_append_only();
"""
SQLITE_UP = """
CREATE TRIGGER loyalty_ledgerentry_append_only
BEFORE UPDATE ON loyalty_ledgerentry
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only: UPDATE refused');
END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS loyalty_ledgerentry_append_only;"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_UP, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_UP)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DOWN, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DOWN)


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0002_points_engine")]
    operations = [migrations.RunPython(forwards, backwards)]
