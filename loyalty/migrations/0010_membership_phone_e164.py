"""Members' phone numbers in E.164 (+31612345678), and an index for finding them as they are typed.

Each stored number is read with its shop's country as the default region (phonenumbers) and
written in E.164 when it is a valid number. A number that cannot be read, or is not valid, is kept
as it was (the counter's search still finds it as typed). When two numbers of one shop become the
same number (0612345678 and +31612345678: one customer with two cards), only one can hold it
(the unique constraint on shop and phone): a row already in E.164 keeps it, else the oldest row
gets it; the other keeps its old form, so no card and no balance is lost or merged blindly.

The normalisation is written out here, not imported: a migration must keep doing what it did
when it was written.
"""

import phonenumbers
from django.db import migrations, models

BATCH = 2000


def _e164(raw: str, country: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phones_to_e164(apps, schema_editor):
    Shop = apps.get_model("loyalty", "Shop")
    Membership = apps.get_model("loyalty", "Membership")
    for shop_id, country in Shop.objects.values_list("pk", "country").iterator():
        rows = list(Membership.objects.filter(shop_id=shop_id).exclude(phone="")
                    .order_by("pk").values_list("pk", "phone"))
        stored = {phone for _pk, phone in rows}
        taken: set[str] = set()
        changes = []
        for pk, phone in rows:
            target = _e164(phone, country)
            if target is None or target == phone:
                continue
            if target in stored or target in taken:
                continue  # another row holds (or just got) this number: keep this one's form
            taken.add(target)
            changes.append(Membership(pk=pk, phone=target))
        Membership.objects.bulk_update(changes, ["phone"], batch_size=BATCH)


class Migration(migrations.Migration):

    dependencies = [
        ('loyalty', '0009_shop_country_brand_stamp_card_customer_note'),
    ]

    operations = [
        migrations.RunPython(phones_to_e164, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='membership',
            index=models.Index(fields=['shop', 'phone'], name='membership_phone_prefix_idx', opclasses=['int8_ops', 'varchar_pattern_ops']),
        ),
    ]
