"""Which Rocket.Chat release the stand-in plays: a version parsed once, asked with predicates.

Behaviour that changed between releases is keyed on :meth:`RocketChatVersion.since` in the
model (``version.since(8, 6)``), never on string compares. The releases the stand-in is known
to play are :data:`RELEASES`; the newest is the default (:func:`default_version`), which a test
run may change once with :func:`set_default_version` (the ``--rocketchat-version`` pytest option).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_VERSION_RE = re.compile(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+|x))?\s*$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class RocketChatVersion:
    """A Rocket.Chat server version: ``8.8.0``; ``8.8`` and ``8.8.x`` parse as patch 0."""

    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, value: str | RocketChatVersion) -> RocketChatVersion:
        if isinstance(value, RocketChatVersion):
            return value
        match = _VERSION_RE.match(value)
        if match is None:
            raise ValueError(
                f"not a Rocket.Chat version: {value!r} (expected e.g. 8.8, 8.8.x or 7.10.0; "
                f"the stand-in plays {', '.join(RELEASES)})"
            )
        major, minor, patch = match.groups()
        return cls(int(major), int(minor), int(patch) if patch and patch.isdigit() else 0)

    def since(self, major: int, minor: int = 0) -> bool:
        """True from release ``major.minor`` on (this version is that release or newer)."""
        return (self.major, self.minor) >= (major, minor)

    @property
    def short(self) -> str:
        """``major.minor``, as ``/api/info`` answers callers without ``get-server-info``."""
        return f"{self.major}.{self.minor}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


# The releases the stand-in is checked against: 7.10 stands for 7.x, 8.0 for 8.0-8.5, 8.8 for
# 8.6 and newer (the lines on which the REST behaviour this package relies on changes).
RELEASES: Final[dict[str, RocketChatVersion]] = {
    "7.10": RocketChatVersion(7, 10, 0),
    "8.0": RocketChatVersion(8, 0, 0),
    "8.8": RocketChatVersion(8, 8, 0),
}
NEWEST: Final[RocketChatVersion] = max(RELEASES.values())

_default: RocketChatVersion = NEWEST


def default_version() -> RocketChatVersion:
    """The version a :class:`FakeRocketChat` built without ``version=`` plays."""
    return _default


def set_default_version(value: str | RocketChatVersion | None) -> RocketChatVersion:
    """Make every later ``FakeRocketChat()`` play ``value`` (None: the newest); returns it.

    Meant for a test run's setup (``pytest --rocketchat-version 7.10``), not for single tests:
    a test that needs one release passes ``version=`` to the stand-in.
    """
    global _default
    _default = NEWEST if value is None else RocketChatVersion.parse(value)
    return _default
