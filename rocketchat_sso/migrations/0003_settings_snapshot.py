"""Rocket.Chat settings recorded by rocketchat_sso_configure --enable."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("rocketchat_sso", "0002_lifecycle"),
    ]

    operations = [
        migrations.CreateModel(
            name="SettingsSnapshot",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="recorded at")),
                (
                    "rocketchat_url",
                    models.CharField(max_length=500, verbose_name="Rocket.Chat URL"),
                ),
                ("site_url", models.CharField(max_length=500, verbose_name="site URL")),
                ("values", models.JSONField(verbose_name="previous values")),
                (
                    "restored_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="restored at"),
                ),
            ],
            options={
                "verbose_name": "Rocket.Chat settings snapshot",
                "verbose_name_plural": "Rocket.Chat settings snapshots",
                "ordering": ("-created_at", "-pk"),
            },
        ),
    ]
