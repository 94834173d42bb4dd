"""A shop's country (the default region of its customers' phone numbers), colour and privacy
link; stamp-card programs; a ledger entry's note for the customer.

SQLite adds a NOT NULL column by rebuilding the table, which drops the ledger's append-only
trigger: it is made again right after (the same SQL as 0003).
"""

import django.core.validators
from django.db import migrations, models

SQLITE_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS loyalty_ledgerentry_append_only
BEFORE UPDATE ON loyalty_ledgerentry
BEGIN
    SELECT RAISE(ABORT, 'ledger entries are append-only: UPDATE refused');
END;
"""


def ledger_trigger_again(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER)


def country_from_currency(apps, schema_editor):
    """Existing krona shops are in Sweden; the rest keep the default, the Netherlands."""
    Shop = apps.get_model("loyalty", "Shop")
    Shop.objects.filter(currency="SEK").update(country="SE")


class Migration(migrations.Migration):

    dependencies = [
        ('loyalty', '0008_idempotency_key_unique_per_shop'),
    ]

    operations = [
        migrations.AddField(
            model_name='ledgerentry',
            name='customer_note',
            field=models.CharField(blank=True, max_length=200, verbose_name='note for the customer'),
        ),
        migrations.RunPython(ledger_trigger_again, migrations.RunPython.noop),
        migrations.AddField(
            model_name='programrules',
            name='program',
            field=models.CharField(choices=[('points', 'Points'), ('stamps', 'Stamp card')], default='points', max_length=10, verbose_name='program'),
        ),
        migrations.AddField(
            model_name='programrules',
            name='stamp_reward',
            field=models.CharField(blank=True, max_length=100, verbose_name='a full card gives'),
        ),
        migrations.AddField(
            model_name='programrules',
            name='stamps_per_card',
            field=models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='stamps for a full card'),
        ),
        migrations.AddField(
            model_name='shop',
            name='brand_color',
            field=models.CharField(default='#8a4b2a', help_text="Your colour on the public page, the poster and the customer's card.", max_length=7, validators=[django.core.validators.RegexValidator('^#[0-9a-fA-F]{6}$', 'Pick a colour, or type one as # and six hex digits, such as #8a4b2a.')], verbose_name='colour'),
        ),
        migrations.AddField(
            model_name='shop',
            name='country',
            field=models.CharField(choices=[('NL', 'Netherlands'), ('BE', 'Belgium'), ('SE', 'Sweden'), ('DE', 'Germany'), ('DK', 'Denmark'), ('NO', 'Norway'), ('FI', 'Finland')], default='NL', help_text='Phone numbers your customers give without a country code are read as numbers of this country.', max_length=2, verbose_name='country'),
        ),
        migrations.AddField(
            model_name='shop',
            name='privacy_url',
            field=models.URLField(blank=True, help_text='A link to your own privacy statement. Leave it empty to use the standard statement Trouw shows for your shop.', verbose_name='privacy statement'),
        ),
        migrations.AddConstraint(
            model_name='programrules',
            constraint=models.CheckConstraint(condition=models.Q(('program__in', ['points', 'stamps'])), name='rules_program_known'),
        ),
        migrations.AddConstraint(
            model_name='programrules',
            constraint=models.CheckConstraint(condition=models.Q(('program', 'points'), models.Q(('stamps_per_card__gte', 2), ('stamps_per_card__lte', 50)), _connector='OR'), name='rules_stamp_card_size'),
        ),
        migrations.AddConstraint(
            model_name='shop',
            constraint=models.CheckConstraint(condition=models.Q(('country__in', ['NL', 'BE', 'SE', 'DE', 'DK', 'NO', 'FI'])), name='shop_country_known'),
        ),
        migrations.RunPython(country_from_currency, migrations.RunPython.noop),
    ]
