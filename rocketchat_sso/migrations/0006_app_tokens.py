"""Tokens handed to Rocket.Chat's own apps: marked, so a session's end does not revoke them."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("rocketchat_sso", "0005_issued_tokens"),
    ]

    operations = [
        migrations.AddField(
            model_name="issuedtoken",
            name="app",
            field=models.CharField(blank=True, db_index=True, max_length=16, verbose_name="app"),
        ),
    ]
