from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),  # LOGIN_URL (W022)
    path("rocketchat/", include("rocketchat_sso.urls")),
    # Django's own view: it keeps the session through update_session_auth_hash.
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(success_url="/admin/"),
        name="password_change",
    ),
    # A login form that lands on a page without the chat (tests/test_revocation.py).
    path("login/", auth_views.LoginView.as_view(next_page="/admin/")),
]
