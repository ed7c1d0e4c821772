from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import LoginView, PasswordChangeView
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("rocketchat/", include("rocketchat_sso.urls")),
    # Django's own view: it keeps the session through update_session_auth_hash.
    path("password/", PasswordChangeView.as_view(success_url="/admin/"), name="password_change"),
    path("login/", LoginView.as_view(next_page="/admin/"), name="login"),
]
