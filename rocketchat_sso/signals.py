"""Signals this app sends, for sites that build on it.

Every signal is sent with ``sender=RocketChatAccount``; receivers take ``**kwargs``. The
receivers this app connects itself live in :mod:`rocketchat_sso.accounts.receivers`.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent after a Django user was synced with Rocket.Chat (created, or looked up and updated where
# the profile differed), so a site can mirror what the user mapper does not cover (custom
# fields, roles, avatars). Arguments: user, account, rocketchat_user (Rocket.Chat's record),
# created (bool), changes (tuple of the field names written).
user_synced = Signal()

# Sent once when this app creates a Rocket.Chat user for a Django user, so a site can welcome
# them: add them to teams or channels, post a message. Arguments: user, account,
# rocketchat_user.
user_created = Signal()

# Sent when a new Rocket.Chat login token was minted for a user (not when a session reuses its
# cached token), for audit logs and login metrics. Arguments: user, account.
token_issued = Signal()
