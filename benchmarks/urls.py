from __future__ import annotations

from django.urls import include, path

from benchmarks import baseline, obvious

urlpatterns = [
    path("rocketchat/", include("rocketchat_sso.urls")),
    path("obvious/token/", obvious.token, name="obvious-token"),
    path("baseline/", baseline.signed_in, name="baseline"),
]
