"""The package's layers: no module imports a higher layer, a peer, testing or an entry point.

Issue 22. ``LAYERS`` below is the one statement of the rule; ``docs/architecture.rst`` (section
"Layers") is held to it by ``tests/docs/test_reference.py``. Counted: every import statement of
a module, at its top level, under ``if TYPE_CHECKING:`` and inside functions (a lazy import is
still a dependency), relative ones resolved. Not counted: dotted paths in strings, such as
conf's ``DEFAULT_USER_MAPPER`` read by ``import_string``: a setting's default the site may
replace, not an import of the package's. (``tests/test_imports.py`` keeps its own graph, without
the lazy imports, for cycles.)
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import rocketchat_sso
from rocketchat_sso._moved import MOVED_MODULES

PACKAGE = Path(rocketchat_sso.__file__).resolve().parent
WHERE = "LAYERS in tests/test_layers.py (and a row in docs/architecture.rst)"

# The deprecated top-level re-exports of the old flat paths; they go in 0.2. Entry points: a
# site imports them, nothing in the package does.
COMPAT_STUBS = tuple(f"{old.replace('.', '/')}.py" for old in MOVED_MODULES)

# layer: (rank, where its modules are: a module's path, or a subpackage's, ending in "/").
# A layer imports its own modules and those of lower ranks. Layers of one rank are peers and do
# not import each other (web and operations; testing and rocketchat, so testing imports only the
# base). Nothing outside testing imports it; nothing imports an entry point (Django loads them).
LAYERS: dict[str, tuple[int, tuple[str, ...]]] = {
    "base": (
        0,
        (
            "rocketchat_sso/__init__.py",
            "rocketchat_sso/_moved.py",
            "rocketchat_sso/conf.py",
            "rocketchat_sso/exceptions.py",
            "rocketchat_sso/models.py",
            "rocketchat_sso/signals.py",
        ),
    ),
    "rocketchat": (1, ("rocketchat_sso/rocketchat/",)),
    "testing": (1, ("rocketchat_sso/testing/",)),
    "sessions": (2, ("rocketchat_sso/sessions/",)),
    "accounts": (3, ("rocketchat_sso/accounts/",)),
    "rooms": (4, ("rocketchat_sso/rooms/",)),
    "web": (5, ("rocketchat_sso/web/",)),
    "operations": (5, ("rocketchat_sso/operations/",)),
    "entry points": (
        6,
        (
            "rocketchat_sso/apps.py",
            "rocketchat_sso/urls.py",
            "rocketchat_sso/admin.py",
            "rocketchat_sso/management/",
            "rocketchat_sso/templatetags/",
            *COMPAT_STUBS,
        ),
    ),
}
APART = "testing"  # imported by nothing outside it
ENTRY_POINTS = "entry points"  # imported by nothing at all

Layers = Mapping[str, tuple[int, tuple[str, ...]]]


def may_import(layer: str, layers: Layers = LAYERS) -> set[str]:
    """The layers whose modules a module of ``layer`` may import."""
    rank = layers[layer][0]
    lower = {other for other, (r, _) in layers.items() if r < rank and other != APART}
    return lower if layer == ENTRY_POINTS else {layer, *lower}


def _reason(importer: str, imported: str, layers: Layers) -> str:
    if imported == ENTRY_POINTS:
        return "nothing in the package imports an entry point (Django loads them)"
    if imported == APART:
        return "nothing outside testing imports it"
    if layers[imported][0] == layers[importer][0]:
        return "peers do not import each other"
    return "an upward import"


@dataclass(frozen=True)
class Import:
    importer: str  # the importing module's path, "rocketchat_sso/sessions/tokens.py"
    imported: str
    line: int
    lazy: bool = False  # inside a function: run when called, not when the module is imported


def modules(root: Path) -> dict[str, str]:
    """The package's modules under ``root``, migrations aside: dotted name -> path."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.relative_to(root).parts:
            continue
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path.relative_to(root.parent).as_posix()
    return found


def _targets(node: ast.Import | ast.ImportFrom, module: str, known: Mapping[str, str]) -> set[str]:
    """The package's modules ``node`` depends on: ``from a import b`` on ``a.b`` if that is a
    module, else on ``a``."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names} & known.keys()
    base = node.module or ""
    if node.level:  # relative: from the module's package, one level up per extra dot
        package = module if known[module].endswith("/__init__.py") else module.rpartition(".")[0]
        anchor = package.rsplit(".", node.level - 1)[0]
        base = f"{anchor}.{base}" if base else anchor
    targets = {f"{base}.{alias.name}" for alias in node.names}
    return {t if t in known else base for t in targets} & known.keys()


def imports(root: Path) -> list[Import]:
    """Every import of a module of the package by another, wherever the statement is."""
    known = modules(root)
    found = []
    for module, path in known.items():
        tree = ast.parse((root.parent / path).read_text(encoding="utf-8"))
        lazy = {
            id(node)
            for function in ast.walk(tree)
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
            for node in ast.walk(function)
        }
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for name in sorted(_targets(node, module, known) - {module}):
                    found.append(Import(path, known[name], node.lineno, id(node) in lazy))
    return found


def layers_of(path: str, layers: Layers = LAYERS) -> list[str]:
    return [
        layer
        for layer, (_, places) in layers.items()
        for place in places
        if place == path or (place.endswith("/") and path.startswith(place))
    ]


def unplaced(root: Path, layers: Layers = LAYERS) -> list[str]:
    """A message for each module in no layer or in more than one."""
    messages = []
    for path in modules(root).values():
        found = layers_of(path, layers)
        if not found:
            messages.append(f"{path} is in no layer: add it, or its subpackage, to {WHERE}")
        elif len(found) > 1:
            messages.append(f"{path} is in {len(found)} layers ({', '.join(found)}): keep one")
    return messages


def violations(root: Path, layers: Layers = LAYERS) -> list[str]:
    """A message for each import of a layer its importer may not import."""
    messages = []
    for found in imports(root):
        importer, imported = layers_of(found.importer, layers), layers_of(found.imported, layers)
        if len(importer) != 1 or len(imported) != 1:
            continue  # reported by unplaced()
        if imported[0] not in may_import(importer[0], layers):
            messages.append(
                f"{found.importer}:{found.line} ({importer[0]}) imports {found.imported} "
                f"({imported[0]}): {_reason(importer[0], imported[0], layers)}"
            )
    return sorted(set(messages))


def test_every_module_is_in_exactly_one_layer() -> None:
    messages = unplaced(PACKAGE)
    assert not messages, "\n".join(messages)


def test_no_module_imports_a_higher_layer_a_peer_testing_or_an_entry_point() -> None:
    messages = violations(PACKAGE)
    assert not messages, "\n".join(messages)


def test_the_checks_see_imports_at_every_depth() -> None:
    found = {(i.importer, i.imported) for i in imports(PACKAGE)}
    # top level, under TYPE_CHECKING, in a function (apps.py's ready())
    assert ("rocketchat_sso/urls.py", "rocketchat_sso/web/views.py") in found
    assert ("rocketchat_sso/testing/model.py", "rocketchat_sso/testing/ajv.py") in found
    assert ("rocketchat_sso/apps.py", "rocketchat_sso/accounts/receivers.py") in found


# A package of its own, to prove the checks fail when they should.
SYNTHETIC: dict[str, tuple[int, tuple[str, ...]]] = {
    "base": (0, ("pkg/__init__.py",)),
    "low": (1, ("pkg/low/",)),
    "web": (2, ("pkg/web/",)),
    "operations": (2, ("pkg/operations/",)),
    "testing": (1, ("pkg/testing/",)),
    "entry points": (3, ("pkg/apps.py",)),
}


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name in ("__init__.py", "low/__init__.py", "web/__init__.py", "operations/__init__.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text))
    return root


def test_a_lazy_upward_import_is_reported(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "low/store.py": """\
                from pkg import low


                def mint():
                    from pkg.web import views

                    return views
                """,
            "web/views.py": "from pkg.low import store\n",
        },
    )
    assert unplaced(root, SYNTHETIC) == []
    assert violations(root, SYNTHETIC) == [
        "pkg/low/store.py:5 (low) imports pkg/web/views.py (web): an upward import"
    ]


def test_peers_testing_entry_points_and_unplaced_modules_are_reported(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "web/views.py": """\
                from typing import TYPE_CHECKING

                from .. import apps

                if TYPE_CHECKING:
                    from ..operations import doctor
                """,
            "operations/doctor.py": "import pkg.testing.fake\n",
            "testing/fake.py": "from pkg.low import client\n",
            "low/client.py": "",
            "apps.py": "from pkg.web import views\nfrom pkg.operations import doctor\n",
            "extra.py": "",
        },
    )
    assert unplaced(root, SYNTHETIC) == [
        f"pkg/extra.py is in no layer: add it, or its subpackage, to {WHERE}"
    ]
    assert violations(root, SYNTHETIC) == [
        "pkg/operations/doctor.py:1 (operations) imports pkg/testing/fake.py (testing): "
        "nothing outside testing imports it",
        "pkg/testing/fake.py:1 (testing) imports pkg/low/client.py (low): "
        "peers do not import each other",
        "pkg/web/views.py:3 (web) imports pkg/apps.py (entry points): "
        "nothing in the package imports an entry point (Django loads them)",
        "pkg/web/views.py:6 (web) imports pkg/operations/doctor.py (operations): "
        "peers do not import each other",
    ]
