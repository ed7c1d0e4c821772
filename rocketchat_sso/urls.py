from __future__ import annotations

from django.urls import path

from rocketchat_sso.web import views

app_name = "rocketchat_sso"

urlpatterns = [
    path("token/", views.token, name="token"),
    path("login/", views.login_page, name="login"),
    path("logout/", views.logout, name="logout"),
    path("app-token/", views.app_token, name="app_token"),
    path("sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
    path("window/", views.sign_in_window, name="window"),
]
