"""Why a snapshot's computed tier, as the run decided it: the score tab tells it from these
fields instead of working the tier rules out again.

Snapshots written before keep tier_reason NULL, and the score tab gives no reason for
them: filling it in would rewrite every snapshot ever written (100,000 per run of a large
tenant, every night) for a sentence shown only with an account's latest snapshot, which
the next run, at the latest the nightly one, replaces with one that has it. Both columns
are added without rewriting the table (NULL, and a constant default).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('scoring', '0003_fast_rescore'),
    ]

    operations = [
        migrations.AddField(
            model_name='accountscore',
            name='gated_tier',
            field=models.CharField(blank=True, choices=[('S', 'S · Strategic'), ('A', 'A · Key'), ('B', 'B · Priority'), ('C', 'C · Standard')], max_length=1, verbose_name='gated tier'),
        ),
        migrations.AddField(
            model_name='accountscore',
            name='tier_reason',
            field=models.CharField(blank=True, choices=[('threshold', 'Threshold reached'), ('gate', 'Held by a revenue gate'), ('hysteresis', 'Kept by the hysteresis')], max_length=10, null=True, verbose_name='tier reason'),
        ),
    ]
