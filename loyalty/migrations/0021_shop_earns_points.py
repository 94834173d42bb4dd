from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('loyalty', '0020_shop_charity_enabled'),
    ]

    operations = [
        migrations.AddField(
            model_name='shop',
            name='earns_points',
            field=models.BooleanField(default=True, editable=False),
        ),
    ]
