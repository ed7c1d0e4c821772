from __future__ import annotations

from django.urls import include, path

from benchmarks import obvious

urlpatterns = [
    path("rocketchat/", include("rocketchat_sso.urls")),
    path("obvious/token/", obvious.token, name="obvious-token"),
]
