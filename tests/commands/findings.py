"""Reading the doctor's findings back from the commands' output.

A finding is its first line (``STATUS title: detail``), then the indented lines its detail goes
on in (8 spaces), then, under a FAIL, its hint (``      hint: ...``, going on at 12 spaces).
"""

from __future__ import annotations

DETAIL_INDENT = " " * 8
HINT_INDENT = " " * 12


def finding_lines(output: str) -> list[str]:
    """Each finding's first line."""
    return [text for text in output.splitlines() if not text.startswith(" ")]


def line(output: str, title: str) -> str:
    """The finding titled ``title``, its detail joined back into one line."""
    lines = output.splitlines()
    (index,) = [i for i, text in enumerate(lines) if title in text and not text.startswith(" ")]
    parts = [lines[index]]
    for text in lines[index + 1 :]:
        if not text.startswith(DETAIL_INDENT) or text.startswith(HINT_INDENT):
            break
        parts.append(text.strip())
    return " ".join(parts)


def hint_after(output: str, title: str) -> str:
    """The hint under the finding titled ``title``, joined back into one line."""
    lines = output.splitlines()
    index = next(i for i, text in enumerate(lines) if title in text and not text.startswith(" "))
    hint = next(i for i in range(index + 1, len(lines)) if lines[i].lstrip().startswith("hint:"))
    parts = [lines[hint]]
    for text in lines[hint + 1 :]:
        if not text.startswith(HINT_INDENT):
            break
        parts.append(text.strip())
    return " ".join(parts)


def unwrapped(output: str) -> str:
    """``output`` with each finding's detail and hint joined back into one line each."""
    lines: list[str] = []
    for text in output.splitlines():
        if lines and text.startswith(DETAIL_INDENT):
            lines[-1] += " " + text.strip()
        else:
            lines.append(text)
    return "".join(text + "\n" for text in lines)
