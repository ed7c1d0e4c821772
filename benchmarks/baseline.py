"""The floor of the benchmark: a view for signed-in users that calls nothing.

Same site, middleware, session and user lookup as the token views; what the token views cost
beyond it is their own.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def signed_in(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"error": "not_authenticated"}, status=401)
    return JsonResponse({"user": request.user.get_username()})
