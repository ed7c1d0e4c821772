"""Sign the users of a Django site into Rocket.Chat (Rocket.Chat's iframe login)."""

from __future__ import annotations

__version__ = "0.1.0"
