"""The package's modules import one another one way: no cycles (issue 19, "the house").

Counted: every import a module makes at its top level, those under ``if TYPE_CHECKING:``
included (a cycle a type checker sees is a cycle); not the imports inside functions, which are
how a module reaches a heavier one lazily. ``from package import submodule`` depends on the
submodule, not on the package's ``__init__``.
"""

from __future__ import annotations

from tests.test_layers import PACKAGE, imports, modules


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports when it is imported (the layering test's
    reading of the imports, without those inside functions)."""
    names = {path: name for name, path in modules(PACKAGE).items()}
    graph: dict[str, set[str]] = {name: set() for name in names.values()}
    for found in imports(PACKAGE):
        if not found.lazy:
            graph[names[found.importer]].add(names[found.imported])
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
