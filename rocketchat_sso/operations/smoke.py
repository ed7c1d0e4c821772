"""The smoke test: one throwaway user signed in end to end against the configured Rocket.Chat.

The doctor checks settings and probes; this does what sign-in does, once, with a probe user
this run creates (``rocketchat-sso-smoke-<random>``, an address under ``.invalid``, never a
real user's): create it, update its profile, sign it in by the configured method, check the
token with ``/me``, revoke it and check that Rocket.Chat refuses it, delete the user. Each step
is a :class:`~rocketchat_sso.operations.doctor.Finding` with the fix for the Rocket.Chat release in
use; whatever fails, the probe is deleted, and where that fails too its username and id are named.
Only the id answered by this run's ``users.create`` is ever acted on (or, if that call's answer
was lost, the exact random username it sent), so no other account is touched.

Every call is recorded with whose credentials it used: the admin's are exempt from Rocket.Chat's
rate limiter (``api-bypass-rate-limit``), the probe user's (``/login``, ``/me``, ``/logout``)
count against this server's address per route, as every user's sign-in from this site does.
"""

from __future__ import annotations

import secrets
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.crypto import get_random_string

from rocketchat_sso.conf import LOGIN_METHOD_CREATE_TOKEN, conf
from rocketchat_sso.exceptions import (
    RocketChatAPIError,
    RocketChatAuthenticationFailed,
    RocketChatBadResponse,
    RocketChatError,
    RocketChatFieldUnavailable,
    RocketChatLoginBlocked,
    RocketChatPermissionDenied,
    RocketChatRateLimited,
    RocketChatTwoFactorRequired,
    RocketChatUnavailable,
    RocketChatUserNotFound,
)
from rocketchat_sso.operations.doctor import FAIL, OK, SKIP, Finding, write_findings
from rocketchat_sso.rocketchat import capabilities
from rocketchat_sso.rocketchat.client import (
    API_PREFIX,
    LoginToken,
    RocketChatClient,
    invalid_params,
)

if TYPE_CHECKING:
    import requests
    from django.core.management.base import BaseCommand

PROBE_PREFIX = "rocketchat-sso-smoke-"
PROBE_NAME = "Rocket.Chat SSO smoke test"
# RFC 2606: the .invalid TLD is never delivered, so no mail Rocket.Chat sends reaches anyone.
PROBE_DOMAIN = "rocketchat-sso-smoke.invalid"
PROBE_SUFFIX_CHARS = string.ascii_lowercase + string.digits

ADMIN = "admin"
PROBE_TOKEN = "probe user's token"
PROBE_PASSWORD = "probe user's password"
NO_CREDENTIALS = "no credentials"

# What Rocket.Chat answers a login it refuses in Accounts.validateLoginAttempt
# (RocketChat/Rocket.Chat apps/meteor/app/authentication/server/startup/index.ts @0548e40:
# Meteor.Error 'error-login-blocked-for-ip' / '...-for-user', from restrictLoginAttempts.ts); the
# REST login route answers 401 with it as ``error`` (ApiClass.ts ``_initAuth``), which the client
# raises as RocketChatLoginBlocked (a wait: a RocketChatUnavailable) with the code as error_type.
LOGIN_BLOCKED_FOR_IP = "error-login-blocked-for-ip"
LOGIN_BLOCKED_FOR_USER = "error-login-blocked-for-user"
# A password login of a user with e-mail 2FA and a verified address: the 2FA onValidateLogin
# callback (apps/meteor/app/2fa/server/loginHandler.ts) runs checkCodeForUser with the password
# fallback disabled; EmailCheck.isEnabled needs services.email2fa.enabled and a verified address
# (app/2fa/server/code/EmailCheck.ts), and every new user gets email2fa when
# Accounts_TwoFactorAuthentication_Enabled, _By_Email_Enabled and _By_Email_Auto_Opt_In are on
# (app/authentication/server/startup/index.ts @0548e40), all three registered with default true
# (settings group 'Accounts', section 'Two Factor Authentication'; the file moved between
# releases and its path was not noted). So the probe is created verified exactly
# when the site sends its users' addresses as verified.
TOTP_REQUIRED = "totp-required"
NOT_ACTIVATED = "error-user-is-not-activated"  # the same validateLoginAttempt, further on

TWO_FACTOR_FIX = (
    "Create the admin's personal access token with 'Ignore Two Factor Authentication' (My "
    "Account > Personal Access Tokens) and set it as ROCKETCHAT_SSO_ADMIN_TOKEN: on every "
    "release users.update asks a token without it for a code (the newest Rocket.Chat code "
    "asks on users.create and users.createToken too)."
)
RATE_LIMIT_FIX = (
    "Rocket.Chat's rate limiter refused the call: every user's sign-in from this server shares "
    "its bucket per route (10 calls a minute by default). Run the smoke test again in a minute, "
    "and see `python manage.py rocketchat_sso_doctor` ('Rate limiter leaves room for logins')."
)


@dataclass(frozen=True)
class Call:
    """One Rocket.Chat call the smoke test made, and whose credentials it carried."""

    method: str
    path: str
    credentials: str

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.credentials})"


@dataclass
class SmokeResult:
    """The steps' findings, then the clean-up's (if a step failed), and every call made."""

    username: str
    method: str
    findings: list[Finding] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(finding.status == FAIL for finding in self.findings)


def run(client: RocketChatClient, *, method: str | None = None) -> SmokeResult:
    """Run the round trip with ``client`` (the admin's) by ``method`` (default: the setting)."""
    return _Smoke(client, method or conf.ROCKETCHAT_SSO_LOGIN_METHOD).run()


def probe_username() -> str:
    return PROBE_PREFIX + get_random_string(12, PROBE_SUFFIX_CHARS)


def probe_password() -> str:
    """Random, with every character class a Rocket.Chat password policy may ask for."""
    return secrets.token_urlsafe(24) + "aA1!"


class _Smoke:
    """One run: the probe's identity, what exists of it so far, the steps and the clean-up."""

    def __init__(self, client: RocketChatClient, method: str) -> None:
        self.client = client
        self.method = method
        self.result = SmokeResult(probe_username(), method)
        self.password = probe_password()
        self.user_id: str | None = None
        self.create_unsure = False  # users.create's answer was lost: it may have taken effect
        self.token: LoginToken | None = None
        self.token_revoked = False
        self.deleted = False

    @property
    def username(self) -> str:
        return self.result.username

    # -- the run --------------------------------------------------------------------------

    def steps(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("Create the probe user", self.create),
            ("Update its profile", self.update),
            (f"Sign it in ({self.method})", self.sign_in),
            ("Rocket.Chat accepts its token", self.check_token),
            ("Revoke the token", self.revoke),
            ("Delete the probe user", self.delete),
        ]

    def run(self) -> SmokeResult:
        hooks = self.client.session.hooks["response"]
        hooks.append(self._record)
        try:
            failed = False
            for title, step in self.steps():
                if failed:
                    self.result.findings.append(Finding(SKIP, "after a failed step", title=title))
                    continue
                finding = self._attempt(step)
                failed = finding.status == FAIL
                self.result.findings.append(
                    Finding(finding.status, finding.detail, finding.hint, title)
                )
        finally:
            try:
                cleaned = self.clean_up()
            finally:
                hooks.remove(self._record)
        if cleaned is not None:
            self.result.findings.append(cleaned)
        return self.result

    def _attempt(self, step: Callable[[], str]) -> Finding:
        try:
            return Finding(OK, step())
        except _StepFailed as failure:
            return Finding(FAIL, failure.detail, failure.hint)
        except RocketChatError as error:
            return Finding(FAIL, error.message, self._hint(step, error))

    def _record(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """A ``requests`` response hook: note the call and whose credentials it carried."""
        request = response.request
        path = (request.path_url or "").split("?")[0]
        user_id = request.headers.get("X-User-Id")
        if user_id and user_id == self.client.user_id:
            credentials = ADMIN
        elif user_id:
            credentials = PROBE_TOKEN
        elif path == API_PREFIX + "login":
            credentials = PROBE_PASSWORD
        else:
            credentials = NO_CREDENTIALS
        self.result.calls.append(Call(str(request.method), path, credentials))

    # -- the steps: each returns its OK detail or raises ------------------------------------

    def create(self) -> str:
        """``users.create`` as sign-in sends it: verified as this site's vouched users are,
        without joining default channels (whose members would see it join)."""
        try:
            record = self.client.create_user(
                username=self.username,
                email=f"{self.username}@{PROBE_DOMAIN}",
                name=PROBE_NAME,
                password=self.password,
                join_default_channels=False,
                verified=_site_vouches(),
            )
        except (RocketChatUnavailable, RocketChatBadResponse):
            self.create_unsure = True
            raise
        if record.get("username") != self.username:
            self.create_unsure = True  # look ours up by its exact name in the clean-up
            raise _StepFailed(
                f"users.create answered with another user ({record.get('username')!r}), which "
                "the smoke test leaves alone",
                "Rocket.Chat (or a proxy) answered with someone else's record: check "
                "ROCKETCHAT_SSO_URL points at Rocket.Chat itself.",
            )
        self.user_id = str(record["_id"])
        return f"{self.username} (id {self.user_id}), users.create as the admin"

    def update(self) -> str:
        """``users.update``, as a profile change on the site sends it; twoFactorRequired on every
        release read (apps/meteor/server/api/v1/users.ts @00e428c; 7.x app/api/server/v1/
        users.ts), so it is where a token without the 2FA bypass is refused."""
        assert self.user_id is not None
        self.client.update_user(self.user_id, {"name": f"{PROBE_NAME} (updated)"})
        return "users.update as the admin: profile changes reach Rocket.Chat"

    def sign_in(self) -> str:
        assert self.user_id is not None
        if self.method == LOGIN_METHOD_CREATE_TOKEN:
            self.token = self.client.create_token(
                self.user_id, secret=conf.ROCKETCHAT_SSO_CREATE_TOKEN_SECRET
            )
            how = "users.createToken as the admin (not rate-limited)"
        else:
            self.token = self.client.login_user(username=self.username, password=self.password)[0]
            how = (
                "POST /api/v1/login with its password (rate-limited per route and address: "
                "every sign-in from this server shares the bucket)"
            )
        if self.token.user_id != self.user_id:
            raise _StepFailed(
                f"the token is for user {self.token.user_id}, not the probe ({self.user_id})",
                "Rocket.Chat signed in someone else: check ROCKETCHAT_SSO_URL.",
            )
        return how

    def check_token(self) -> str:
        assert self.token is not None
        me = self.client.user_of_token(self.token)
        if me is None:
            raise _StepFailed(
                "GET /api/v1/me refuses the token Rocket.Chat has just issued (401)",
                "A proxy in front of Rocket.Chat drops the X-User-Id/X-Auth-Token headers, or "
                "Rocket.Chat's instances do not share one database: users' chats would not "
                "open.",
            )
        if me.get("_id") != self.user_id:
            raise _StepFailed(
                f"GET /api/v1/me answers for {me.get('username')!r}, not the probe",
                "Check that ROCKETCHAT_SSO_URL reaches Rocket.Chat itself (no cache in between).",
            )
        return f"GET /api/v1/me with the token answers for {self.username}"

    def revoke(self) -> str:
        assert self.token is not None
        self.client.revoke_token(self.token)
        self.token_revoked = True
        if self.client.user_of_token(self.token) is not None:
            raise _StepFailed(
                "GET /api/v1/me still accepts the token after POST /api/v1/logout",
                "Logging out of this site would leave the chat signed in: check that no cache "
                "or proxy answers /api/v1/me in Rocket.Chat's place.",
            )
        return "POST /api/v1/logout with the token; GET /api/v1/me now refuses it (401)"

    def delete(self) -> str:
        assert self.user_id is not None
        self.client.delete_user(self.user_id)
        self.deleted = True
        try:
            found = self.client.user_info(user_id=self.user_id)
        except RocketChatUserNotFound:
            return "users.delete as the admin; users.info finds no such user"
        raise _StepFailed(
            f"users.info still finds {found.get('username')!r} after users.delete",
            self._leftover_hint(),
        )

    # -- the clean-up ---------------------------------------------------------------------

    def clean_up(self) -> Finding | None:
        """After a failed step: delete the probe (its tokens go with it), else name it."""
        if self.user_id is None and self.create_unsure:
            self._find_own_probe()
        if self.user_id is None or self.deleted:
            return None
        try:
            self.client.delete_user(self.user_id)
        except RocketChatError as error:
            tokens = self._end_sessions()
            return Finding(FAIL, f"{error.message}; {tokens}", self._leftover_hint(), "Clean-up")
        self.deleted = True
        return Finding(
            OK, f"deleted the probe user {self.username}, its tokens with it", title="Clean-up"
        )

    def _find_own_probe(self) -> None:
        """users.create's answer was lost: the user this run asked for may exist. Only a user
        with this run's exact random username is ours."""
        try:
            record = self.client.user_info(username=self.username)
        except RocketChatError:
            return
        if record.get("username") == self.username:
            self.user_id = str(record["_id"])

    def _end_sessions(self) -> str:
        if self.token is None or self.token_revoked:
            return "no login token of it is left"
        try:
            self.client.revoke_token(self.token)
        except RocketChatError:
            return "its login token could not be revoked either (it goes with the user)"
        self.token_revoked = True
        return "its login token was revoked"

    def _leftover_hint(self) -> str:
        return (
            f"Delete the probe user by hand: username {self.username}, id {self.user_id} "
            '(Administration > Users, or POST /api/v1/users.delete {"userId": '
            f'"{self.user_id}"}} as an admin); nothing else was left.'
        )

    # -- the fix for each refusal, for this release ---------------------------------------

    def _hint(self, step: Callable[[], str], error: RocketChatError) -> str:
        if isinstance(error, RocketChatRateLimited):
            return RATE_LIMIT_FIX
        if isinstance(error, RocketChatLoginBlocked):  # a wait, not an unreachable server
            return _login_blocked_fix(error)
        if isinstance(error, RocketChatUnavailable):
            return (
                f"Rocket.Chat did not answer: check ROCKETCHAT_SSO_URL ({conf.ROCKETCHAT_SSO_URL}) "
                "and that this server reaches it; then run the smoke test again."
            )
        if isinstance(error, RocketChatTwoFactorRequired) and step != self.sign_in:
            return TWO_FACTOR_FIX
        if step == self.create:
            return _create_fix(error)
        if step == self.update and isinstance(error, RocketChatPermissionDenied):
            return "The admin needs the permission 'edit-other-user-info' (the admin role has it)."
        if step == self.sign_in:
            return self._sign_in_fix(error)
        if step == self.delete and isinstance(error, RocketChatPermissionDenied):
            return (
                "The admin needs the permission 'delete-user' (the admin role has it). "
                + self._leftover_hint()
            )
        return "See the message; `python manage.py rocketchat_sso_doctor` checks the setup."

    def _sign_in_fix(self, error: RocketChatError) -> str:
        if self.method == LOGIN_METHOD_CREATE_TOKEN:
            # A missing secret is a schema failure, in either release's words (the client's).
            if isinstance(error, (RocketChatPermissionDenied, RocketChatTwoFactorRequired)) or (
                isinstance(error, RocketChatAPIError) and invalid_params(error.error_type)
            ):
                return capabilities.create_token_fix(self.client.version())
            return "See the message; `python manage.py rocketchat_sso_doctor` checks the setup."
        text = error.message
        if TOTP_REQUIRED in text:
            return (
                "Rocket.Chat asks the user for a second factor at login: users with a verified "
                "address get e-mailed codes "
                "(Accounts_TwoFactorAuthentication_By_Email_Auto_Opt_In, on by default), which "
                "a site cannot enter for them. Turn that setting off before users are created, "
                "or use ROCKETCHAT_SSO_LOGIN_METHOD = 'create_token'."
            )
        if NOT_ACTIVATED in text:
            return (
                "Rocket.Chat made the new user inactive (is Accounts_ManuallyApproveNewUsers "
                "on?): this site's new users could not sign in either until approved."
            )
        if isinstance(error, RocketChatAuthenticationFailed):
            return (
                "Rocket.Chat refused the password it was just given: is password login turned "
                "off (Accounts_ShowFormLogin, LDAP or CAS only)? Use ROCKETCHAT_SSO_LOGIN_METHOD "
                "= 'create_token'."
            )
        return "See the message; `python manage.py rocketchat_sso_doctor` checks the setup."


class _StepFailed(Exception):
    def __init__(self, detail: str, hint: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.hint = hint


def _login_blocked_fix(error: RocketChatLoginBlocked) -> str:
    """The client raises :class:`RocketChatLoginBlocked` for either refusal; ``error_type`` is
    the Meteor error's code, which says whether the address or the username is blocked."""
    if error.error_type == LOGIN_BLOCKED_FOR_USER:
        return (
            "Rocket.Chat blocks this user's logins after failed attempts "
            "(Block_Multiple_Failed_Logins_By_User): wait "
            "Block_Multiple_Failed_Logins_Time_To_Unblock_By_User_In_Minutes (5 by default), or "
            "use ROCKETCHAT_SSO_LOGIN_METHOD = 'create_token'."
        )
    return (
        "Rocket.Chat blocks logins from this server's address after failed attempts "
        "(Block_Multiple_Failed_Logins_By_Ip; with the password method every user of this site "
        "logs in from it, so none can sign in until "
        "Block_Multiple_Failed_Logins_Time_To_Unblock_By_Ip_In_Minutes pass, 5 by default): add "
        "this server's address to Block_Multiple_Failed_Logins_Ip_Whitelist (Administration > "
        "Settings > Accounts > Login Attempts), or use ROCKETCHAT_SSO_LOGIN_METHOD = "
        "'create_token', which does not log in with a password."
    )


def _site_vouches() -> bool:
    """Whether this site sends any user's address as verified (True, or a vouching callable):
    the probe then meets what those users meet, e-mail 2FA included."""
    value = conf.ROCKETCHAT_SSO_EMAIL_VERIFIED
    return value is True or (isinstance(value, str) and bool(value))


def _create_fix(error: RocketChatError) -> str:
    """users.create refusals: without ``create-user``, validateUserData throws
    ``error-action-not-allowed`` 'Adding user is not allowed' (a 400, not a 403; 7.x
    app/lib/server/functions/saveUser/validateUserData.ts and 8.x
    server/lib/users/saveUser/validateUserData.ts read alike); field errors come from a policy
    the site's users would meet as well."""
    if isinstance(error, RocketChatPermissionDenied):
        return (
            "The admin needs the permission 'create-user' (Administration > Permissions; the "
            "admin role has it): without it no new user of this site can sign in."
        )
    if isinstance(error, RocketChatFieldUnavailable):
        return "A random probe name or address was taken: run the smoke test again."
    return (
        "Rocket.Chat refuses a user like the ones this site creates: check Administration > "
        "Settings > Accounts (password policy, Accounts_AllowedDomainsList and "
        "Accounts_BlockedDomainsList, UTF8_User_Names_Validation); this site's new users would "
        "be refused the same way."
    )


# -- what the commands print -----------------------------------------------------------------


def write_smoke(command: BaseCommand, result: SmokeResult) -> int:
    """Print the steps (the doctor's format) and the calls made; returns how many failed."""
    command.stdout.write(
        f"Smoke test with the probe user {result.username} on {conf.ROCKETCHAT_SSO_URL} "
        f"(login method {result.method}):"
    )
    failed = write_findings(command, result.findings)
    for line in describe_calls(result.calls):
        command.stdout.write(line)
    return failed


def describe_calls(calls: list[Call]) -> list[str]:
    """How many calls, whose credentials, and which count against the rate limiter."""
    admin = [call for call in calls if call.credentials == ADMIN]
    limited = [call for call in calls if call.credentials in (PROBE_TOKEN, PROBE_PASSWORD)]
    per_route = Counter(f"{call.method} {call.path}" for call in limited)
    routes = ", ".join(f"{route} {count}" for route, count in per_route.items()) or "none"
    lines = [
        f"Rocket.Chat calls: {len(calls)}; {len(admin)} with the admin's token (exempt from the "
        f"rate limiter), {len(limited)} with the probe user's credentials (counted per route "
        f"against this server's address, like every sign-in from this site: {routes})."
    ]
    lines.extend(f"  {number}. {call}" for number, call in enumerate(calls, 1))
    return lines
