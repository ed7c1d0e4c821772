"""Rooms from groups: the mapped rooms and each account's place in them (issue 20)."""

from __future__ import annotations

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("rocketchat_sso", "0006_app_tokens"),
    ]

    operations = [
        migrations.CreateModel(
            name="MappedRoom",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=255, unique=True, verbose_name="room name")),
                (
                    "rocketchat_room_id",
                    models.CharField(blank=True, max_length=64, verbose_name="Rocket.Chat room id"),
                ),
                ("problem", models.TextField(blank=True, verbose_name="problem")),
                (
                    "checked_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="checked at"),
                ),
                (
                    "synced_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="last reconciled"),
                ),
            ],
            options={
                "verbose_name": "mapped Rocket.Chat room",
                "verbose_name_plural": "mapped Rocket.Chat rooms",
                "ordering": ("name",),
            },
        ),
        migrations.CreateModel(
            name="RoomMembership",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("member", "member"),
                            ("pending-add", "to add"),
                            ("pending-remove", "to remove"),
                        ],
                        default="pending-add",
                        max_length=16,
                        verbose_name="state",
                    ),
                ),
                ("moderator", models.BooleanField(default=False, verbose_name="moderator")),
                ("last_error", models.TextField(blank=True, verbose_name="last error")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="room_memberships",
                        to="rocketchat_sso.rocketchataccount",
                        verbose_name="Rocket.Chat account",
                    ),
                ),
                (
                    "room",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="memberships",
                        to="rocketchat_sso.mappedroom",
                        verbose_name="room",
                    ),
                ),
            ],
            options={
                "verbose_name": "room membership",
                "verbose_name_plural": "room memberships",
                "ordering": ("room__name",),
                "constraints": [
                    models.UniqueConstraint(
                        fields=("account", "room"), name="rocketchat_sso_one_membership"
                    )
                ],
            },
        ),
    ]
