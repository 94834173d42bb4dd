"""A statement's ``payable_from``: when the return window of the last purchase it holds ends.
Statements closed before it take the latest ``payable_at`` of their month's lines (their
closing time where a statement has no lines)."""

from django.db import migrations, models
from django.db.models import Max


def fill(apps, schema_editor):
    Statement = apps.get_model("charity", "Statement")
    Donation = apps.get_model("charity", "Donation")
    for statement in Statement.objects.filter(payable_from__isnull=True).iterator():
        last = Donation.objects.filter(charity_id=statement.charity_id,
                                       month=statement.month).aggregate(last=Max("payable_at"))
        statement.payable_from = last["last"] or statement.closed_at
        statement.save(update_fields=["payable_from"])


class Migration(migrations.Migration):
    dependencies = [("charity", "0003_program_shared_read")]
    operations = [
        migrations.AddField("statement", "payable_from",
                            models.DateTimeField(null=True, verbose_name="payable from")),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField("statement", "payable_from",
                              models.DateTimeField(verbose_name="payable from")),
    ]
