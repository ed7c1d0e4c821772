"""Just enough reStructuredText reading for the docs tests: code blocks, sections, terms.

Regular expressions over the source, so the tests need no docutils (the ``docs`` dependency
group is not installed in the test environments).
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
DOCS = ROOT / "docs"
# Every file whose snippets a user reads: the docs pages and what they include, and README.
SNIPPET_FILES = (
    *sorted(DOCS.glob("*.rst")),
    ROOT / "README.rst",
    ROOT / "CHANGELOG.rst",
    ROOT / "benchmarks" / "README.rst",
)
NO_TEST_CLASS = "no-test"

_DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\. code-block::\s*(?P<language>\S+)\s*$")
_OPTION = re.compile(r"^\s+:(?P<name>[\w-]+):\s*(?P<value>.*)$")
_UNDERLINE = re.compile(r"^([=\-~^])\1{2,}\s*$")


@dataclass(frozen=True)
class CodeBlock:
    path: Path
    line: int  # 1-based line of the directive
    language: str
    code: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def no_test(self) -> bool:
        return NO_TEST_CLASS in self.options.get("class", "").split()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def code_blocks(path: Path) -> list[CodeBlock]:
    """Every ``.. code-block::`` of ``path``, its options and its dedented content."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        match = _DIRECTIVE.match(lines[i])
        if not match:
            i += 1
            continue
        start, indent = i, len(match["indent"])
        options = {}
        i += 1
        while i < len(lines) and (option := _OPTION.match(lines[i])):
            options[option["name"]] = option["value"]
            i += 1
        body = []
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > indent):
            body.append(lines[i])
            i += 1
        code = textwrap.dedent("\n".join(body)).strip("\n") + "\n"
        blocks.append(CodeBlock(path, start + 1, match["language"], code, options))
    return blocks


def section(path: Path, title: str) -> str:
    """The text of the section ``title`` of ``path``, up to the next heading of any level."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.strip() == title and _UNDERLINE.match(lines[i + 1]):
            body = []
            for j in range(i + 2, len(lines)):
                if j + 1 < len(lines) and lines[j].strip() and _UNDERLINE.match(lines[j + 1]):
                    break
                body.append(lines[j])
            return "\n".join(body)
    raise AssertionError(f"{path.name} has no section {title!r}")


def definitions(text: str) -> list[tuple[str, str]]:
    """The entries of the top-level definition lists of ``text``: (term, definition), a term
    being an unindented line followed by an indented one."""
    lines = text.splitlines()
    entries: list[tuple[str, str]] = []
    for i, line in enumerate(lines[:-1]):
        is_term = line.strip() and not line[0].isspace() and not line.startswith("..")
        if not is_term or not lines[i + 1].startswith((" ", "\t")):
            continue
        body = []
        for following in lines[i + 1 :]:
            if following.strip() and not following[0].isspace():
                break
            body.append(following)
        entries.append((line, "\n".join(body)))
    return entries


def definition_terms(text: str) -> list[str]:
    return [term for term, _ in definitions(text)]


_ROW = re.compile(r"^(?P<indent>\s*)\* - (?P<cell>.*)$")


def list_table_rows(text: str) -> list[list[str]]:
    """The rows of the ``list-table`` directives of ``text``, header row included: each cell's
    text, its lines joined by a space."""
    rows: list[list[str]] = []
    indent = -1  # the open row's, -1 when none is
    for line in text.splitlines():
        if row := _ROW.match(line):
            indent = len(row["indent"])
            rows.append([row["cell"].strip()])
        elif indent < 0 or not line.strip():
            continue
        elif _indent(line) == indent + 2 and line.lstrip().startswith("- "):
            rows[-1].append(line.strip()[2:].strip())
        elif _indent(line) > indent + 2:
            rows[-1][-1] = f"{rows[-1][-1]} {line.strip()}"
        else:
            indent = -1
    return rows
