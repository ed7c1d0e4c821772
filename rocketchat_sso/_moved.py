"""The public modules that moved before 0.1.0 (issue 22): their old paths warn until 0.2.

Only the deprecated stubs at the top of the package and the system check W150 use this; it
imports nothing of the package, so any layer may read it.
"""

from __future__ import annotations

import warnings

# Old module -> new module. The old ones are stubs re-exporting what the docs named there.
MOVED_MODULES = {
    "rocketchat_sso.profiles": "rocketchat_sso.accounts.profiles",
    "rocketchat_sso.signin": "rocketchat_sso.accounts.signin",
    "rocketchat_sso.middleware": "rocketchat_sso.web.middleware",
    "rocketchat_sso.verification": "rocketchat_sso.accounts.verification",
    "rocketchat_sso.embed": "rocketchat_sso.web.embed",
    "rocketchat_sso.tokens": "rocketchat_sso.sessions.tokens",
    "rocketchat_sso.views": "rocketchat_sso.web.views",
}


def new_path(dotted: str) -> str:
    """``dotted`` with a moved module's old path replaced by its new one (else unchanged)."""
    module, _, name = dotted.rpartition(".")
    return f"{MOVED_MODULES[module]}.{name}" if module in MOVED_MODULES else dotted


def warn(old: str) -> None:
    """The DeprecationWarning of importing the stub ``old``, pointed at the importer.

    stacklevel 3: past this function and the stub's own body; ``warnings`` skips the import
    machinery's frames, so the line named is the ``import`` (or ``import_string``).
    """
    warnings.warn(
        f"{old} moved to {MOVED_MODULES[old]}; the old path goes in 0.2",
        DeprecationWarning,
        stacklevel=3,
    )
