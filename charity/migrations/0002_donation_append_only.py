"""The donation ledger is append-only: the database refuses UPDATE and DELETE of a line (on
SQLite UPDATE only: Django's test runner empties tables with DELETE), as for the points ledger
(loyalty 0003)."""

from django.db import migrations

PG_UP = """
CREATE OR REPLACE FUNCTION charity_donation_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'donations are append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER charity_donation_append_only
    BEFORE UPDATE OR DELETE ON charity_donation
    FOR EACH ROW EXECUTE FUNCTION charity_donation_append_only();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS charity_donation_append_only ON charity_donation;
DROP FUNCTION IF EXISTS charity_donation_append_only();
"""
SQLITE_UP = """
CREATE TRIGGER charity_donation_append_only
BEFORE UPDATE ON charity_donation
BEGIN
    SELECT RAISE(ABORT, 'donations are append-only: UPDATE refused');
END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS charity_donation_append_only;"


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
    dependencies = [("charity", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
