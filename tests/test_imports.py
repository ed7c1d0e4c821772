"""The package's modules import one another one way: no cycles (issue 19, "the house").

Counted: every import a module makes at its top level, those under ``if TYPE_CHECKING:``
included (a cycle a type checker sees is a cycle); not the imports inside functions, which are
how a module reaches a heavier one lazily. ``from package import submodule`` depends on the
submodule, not on the package's ``__init__``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import rocketchat_sso

PACKAGE = Path(rocketchat_sso.__file__).parent


def _module_name(path: Path) -> str:
    parts = ("rocketchat_sso", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(body: Iterable[ast.stmt]) -> Iterable[ast.ImportFrom | ast.Import]:
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            yield from _top_level_imports([*node.body, *node.orelse])
        elif isinstance(node, ast.Try):
            yield from _top_level_imports([*node.body, *node.orelse, *node.finalbody])


def import_graph() -> dict[str, set[str]]:
    paths = [path for path in PACKAGE.rglob("*.py") if "migrations" not in path.parts]
    modules = {_module_name(path): path for path in paths}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in _top_level_imports(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names if alias.name in modules)
            elif node.level == 0 and node.module in modules:
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    deps.add(submodule if submodule in modules else node.module)
        graph[name] = deps - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                found.append([*path[path.index(dep) :], dep])
            elif dep not in state:
                visit(dep)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return found


def test_the_package_has_no_import_cycles() -> None:
    assert [" -> ".join(cycle) for cycle in cycles(import_graph())] == []


def test_the_graph_sees_type_checking_imports() -> None:
    graph = import_graph()
    assert "rocketchat_sso.conf" in graph["rocketchat_sso.accounts.profiles"]
    assert "rocketchat_sso.testing.ajv" in graph["rocketchat_sso.testing.model"]
    assert "rocketchat_sso.testing" not in graph["rocketchat_sso.testing.model"]
