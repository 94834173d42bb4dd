"""PostgreSQL: leave a fifth of each page of ``loyalty_membership`` free (fillfactor 80).

Every earn, refund, redemption, birthday gift and expiry night updates a card's cached balance
(and the earn its ``last_purchase_at``); neither column is in any of the table's indexes, so with
room on the page PostgreSQL updates the row in place (a HOT update) instead of writing a new
entry into each of the table's indexes. Measured on the birthday job (docs/benchmarks.md).

The setting applies to pages written from now on; an existing table gets the room when it is
rewritten (``VACUUM FULL loyalty_membership`` or pg_repack, in a quiet hour). SQLite has no such
setting: nothing happens there.
"""

from django.db import migrations


def fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE loyalty_membership SET (fillfactor = 80)")


def fillfactor_reset(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE loyalty_membership RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [("loyalty", "0013_shop_birthdays_given_through")]

    operations = [migrations.RunPython(fillfactor, fillfactor_reset)]
