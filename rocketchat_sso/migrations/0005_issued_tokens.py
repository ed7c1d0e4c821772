"""Issued Rocket.Chat tokens, kept encrypted: logging out revokes them without the cache."""

from __future__ import annotations

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("rocketchat_sso", "0004_account_sync_conflict"),
    ]

    operations = [
        migrations.CreateModel(
            name="IssuedToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "rocketchat_user_id",
                    models.CharField(max_length=64, verbose_name="Rocket.Chat user id"),
                ),
                (
                    "session_hash",
                    models.CharField(db_index=True, max_length=64, verbose_name="session key hash"),
                ),
                ("slot", models.CharField(max_length=32, unique=True, verbose_name="slot")),
                (
                    "encrypted_session_key",
                    models.TextField(blank=True, verbose_name="session key (encrypted)"),
                ),
                ("encrypted_token", models.TextField(blank=True, verbose_name="token (encrypted)")),
                (
                    "auth_fingerprint",
                    models.CharField(
                        blank=True, max_length=64, verbose_name="password fingerprint"
                    ),
                ),
                ("issued_at", models.DateTimeField(verbose_name="issued at")),
                ("expires_at", models.DateTimeField(db_index=True, verbose_name="expires at")),
                (
                    "claim_until",
                    models.DateTimeField(blank=True, null=True, verbose_name="reclaimable until"),
                ),
                (
                    "ended_at",
                    models.DateTimeField(
                        blank=True, db_index=True, null=True, verbose_name="session ended at"
                    ),
                ),
                (
                    "revoked_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="revoked at"),
                ),
                (
                    "attempts",
                    models.PositiveIntegerField(default=0, verbose_name="revocation attempts"),
                ),
                (
                    "last_attempt_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="last attempt at"),
                ),
                ("last_error", models.TextField(blank=True, verbose_name="last revocation error")),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="rocketchat_tokens",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "issued Rocket.Chat token",
                "verbose_name_plural": "issued Rocket.Chat tokens",
                "ordering": ("-issued_at", "-pk"),
            },
        ),
    ]
