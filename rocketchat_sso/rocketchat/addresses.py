"""Comparing email addresses: the one rule, used everywhere an address is matched.

Two addresses are the same when they are equal but for the case of ASCII letters (and the
blanks around them). Nothing else is folded: ``str.lower()`` maps the Kelvin sign (U+212A) to
``k`` and ``str.casefold()`` more still, so ``\\u212aate@example.com`` would pass for
``kate@example.com``, an address its owner never gave. Mail systems treat the local part as
case-sensitive anyway; ASCII case is what people mistype.
"""

from __future__ import annotations

import string

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def address_key(address: str) -> str:
    """``address`` stripped, with ASCII letters lower-cased and every other character kept."""
    return address.strip().translate(_ASCII_LOWER)


def same_address(first: str, second: str) -> bool:
    """Whether two addresses are the same (ASCII case aside); an empty one matches nothing."""
    key = address_key(first)
    return bool(key) and key == address_key(second)
