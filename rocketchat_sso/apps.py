from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RocketChatSSOConfig(AppConfig):
    name = "rocketchat_sso"
    verbose_name = _("Rocket.Chat single sign-on")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core.checks import Tags, register

        from rocketchat_sso.accounts import receivers, signin
        from rocketchat_sso.operations import checks
        from rocketchat_sso.rooms import checks as room_checks
        from rocketchat_sso.rooms import dispatch as rooms
        from rocketchat_sso.sessions import minting
        from rocketchat_sso.web import cors

        register(Tags.compatibility)(checks.check_settings)
        register(Tags.security)(checks.check_linking)
        register(Tags.compatibility)(checks.check_two_factor)
        register(Tags.security)(checks.check_cors)
        register(Tags.security)(checks.check_browser)
        register(Tags.urls)(checks.check_urls)
        register(Tags.compatibility, Tags.caches)(checks.check_lifecycle)
        register(Tags.caches)(checks.check_cache)
        register(Tags.compatibility, Tags.security)(checks.check_revocation)
        register(Tags.compatibility)(checks.check_site_url)
        register(Tags.security)(checks.check_client_address)
        register(Tags.compatibility)(checks.check_moved_paths)
        register(Tags.compatibility)(room_checks.check_rooms)
        minting.provide(signin)  # session storage mints through the accounts layer
        receivers.connect()
        cors.connect()
        rooms.connect()
