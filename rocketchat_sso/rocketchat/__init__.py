"""Talking to Rocket.Chat: the one REST client, what each release can do, its settings, and the
site's share of its rate limiter.

Imports only the package's base (``conf``, ``exceptions``, ``models``, ``signals``).
"""
