"""One Rocket.Chat token per Django session, and its end: the cache and its lock, the budgets,
the encrypted records that outlive the cache, revocation, Rocket.Chat's own logout respected.

Imports :mod:`rocketchat_sso.rocketchat` and the base; what it needs of the accounts layer (a
mint, a profile brought in step) it asks through :mod:`rocketchat_sso.sessions.minting`.
"""
