# The earn of a shop with levels and badges reads a card's purchases and entries from their
# indexes alone (docs/benchmarks.md, session 9): the purchases' card index covers what the
# badges and levels read, and the entries' card index what a points measure sums.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('loyalty', '0021_shop_earns_points'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='ledgerentry',
            name='entry_member_idx',
        ),
        migrations.AlterField(
            model_name='purchase',
            name='membership',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='purchases', to='loyalty.membership'),
        ),
        migrations.AddIndex(
            model_name='ledgerentry',
            index=models.Index(fields=['membership', '-created_at'], include=('shop', 'kind', 'points', 'purchase'), name='entry_member_idx'),
        ),
        migrations.AddIndex(
            model_name='purchase',
            index=models.Index(fields=['membership'], include=('created_at', 'amount', 'refunded_amount'), name='purchase_member_idx'),
        ),
    ]
