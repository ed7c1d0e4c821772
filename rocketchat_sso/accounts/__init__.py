"""The Django user and their Rocket.Chat user: profiles, sign-in (create, link when vouched,
update), the user's life (deactivation, deletion, reconciliation) and the receivers that carry it.

Imports :mod:`rocketchat_sso.sessions`, :mod:`rocketchat_sso.rocketchat` and the base.
"""
