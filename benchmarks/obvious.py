"""The token view a developer would write without this app, with the ``rocketchat_API`` package.

It is the comparison of the benchmark: on every request it looks the user up (``users.info``),
creates them when missing (``users.create``) and logs them in (``/api/v1/login``), as the
package's README suggests, with a client built per request.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rocketchat_API.APIExceptions.RocketExceptions import RocketApiException
from rocketchat_API.rocketchat import RocketChat


def password_for(user_pk: object) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), str(user_pk).encode(), hashlib.sha256)
    return "Rc9!" + digest.hexdigest()


@csrf_exempt
def token(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"error": "not_authenticated"}, status=401)
    admin = RocketChat(
        user_id=settings.ROCKETCHAT_SSO_ADMIN_USER_ID,
        auth_token=settings.ROCKETCHAT_SSO_ADMIN_TOKEN,
        server_url=settings.ROCKETCHAT_SSO_URL,
        timeout=5,
    )
    username, password = user.get_username(), password_for(user.pk)
    try:
        admin.users_info(username=username)
    except RocketApiException:  # "User not found."
        admin.users_create(
            email=user.email,
            name=user.get_full_name() or username,
            password=password,
            username=username,
        )  # not verified=True: a default Rocket.Chat would then refuse the password login below
        # with totp-required and e-mail a code (docs/rocketchat.rst, "E-mail two-factor")
    logged_in = RocketChat(username, password, server_url=settings.ROCKETCHAT_SSO_URL, timeout=5)
    return JsonResponse({"loginToken": logged_in.headers["X-Auth-Token"]})
