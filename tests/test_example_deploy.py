"""The example site's production settings, as ``example_project/deploy`` runs them."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.production.harness import deployed_env

ROOT = Path(__file__).resolve().parents[1]
MANAGE = ROOT / "example_project" / "manage.py"
DEPLOY_ENV = {
    "DJANGO_SETTINGS_MODULE": "example.production_settings",
    "SITE_URL": "https://www.example.com",
    "POSTGRES_DB": "example",
    "POSTGRES_USER": "example",
    "POSTGRES_PASSWORD": "example",
    "REDIS_URL": "redis://redis:6379/0",
    "ROCKETCHAT_SSO_URL": "http://rocketchat:3000",
    "ROCKETCHAT_SSO_PUBLIC_URL": "https://chat.example.com",
    "ROCKETCHAT_SSO_ADMIN_USER_ID": "rcadmin0000000001",
    "ROCKETCHAT_SSO_ADMIN_TOKEN": "admin-personal-access-token",
}


def test_production_settings_pass_the_deployment_checklist() -> None:
    """``check --deploy``: Django's security checks and this app's, W040 included, all quiet."""
    pytest.importorskip("psycopg", reason="the example's production settings use PostgreSQL")
    pytest.importorskip("redis", reason="the example's production settings use Redis")
    env = {**deployed_env(), **DEPLOY_ENV, "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}
    result = subprocess.run(
        [sys.executable, str(MANAGE), "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
