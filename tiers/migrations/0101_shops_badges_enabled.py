"""Shops that have an active badge get the core's ``Shop.badges_enabled`` (what the earn's
badges effect reads with the shop, loyalty 0019)."""

from django.db import migrations


def forwards(apps, schema_editor):
    Shop = apps.get_model("loyalty", "Shop")
    Badge = apps.get_model("tiers", "Badge")
    shops = Badge.objects.filter(active=True).values_list("shop_id", flat=True).distinct()
    Shop.objects.filter(pk__in=list(shops)).update(badges_enabled=True)


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0019_shop_badges_enabled"),
        ("tiers", "0100_badges"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
