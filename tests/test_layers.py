"""The package's layout holds: imports point one way, down the layers declared here, and no
module imports another into a cycle (not even behind ``TYPE_CHECKING`` or inside a function).

The imports are read with `ast` from the source, every one of them, so what runs only under a
type checker counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "fullon_cache_api"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE

# Lowest first. A module may import from its own layer and the layers below it, never above.
# A name stands for that module and everything under it; the longest name wins.
LAYERS: list[tuple[str, ...]] = [
    (f"{PACKAGE}._version", f"{PACKAGE}._errors", f"{PACKAGE}._redis_url"),
    (f"{PACKAGE}.structs",),
    (f"{PACKAGE}.client",),  # the Python client: httpx, msgspec and the Structs only
    (f"{PACKAGE}._settings",),
    (f"{PACKAGE}.backend",),  # the Redis client seam
    (f"{PACKAGE}.security",),
    (f"{PACKAGE}.observability",),
    (f"{PACKAGE}.http",),  # HTTP plumbing under the routes
    (f"{PACKAGE}.data",),
    (f"{PACKAGE}.streams",),
    (f"{PACKAGE}.gauges",),  # the domain gauges collector, over the data layer
    (f"{PACKAGE}.routes",),
    (f"{PACKAGE}._app",),  # the app factory
    (f"{PACKAGE}.server",),
    (f"{PACKAGE}.demo",),
    (PACKAGE, f"{PACKAGE}.main", f"{PACKAGE}.__main__", f"{PACKAGE}.standalone_server"),
]
# The package root holds the public surface and the app's assembly, nothing else.
MAX_ROOT_MODULES = 10


def module_name(path: Path) -> str:
    """``fullon_cache_api.data.tickers`` for ``fullon_cache_api/data/tickers.py``."""
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def imported(module: str, source: str | None = None) -> set[str]:
    """The package's modules `module` imports (its file, or `source`), wherever the import
    statement stands."""
    path = MODULES[module]
    here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    tree = ast.parse(path.read_text() if source is None else source, str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target not in MODULES:
                continue
            # ``from . import routes`` imports the submodule, not (only) the package.
            submodules = {f"{target}.{alias.name}" for alias in node.names}
            found.update(name for name in submodules if name in MODULES)
            if not submodules <= MODULES.keys():
                found.add(target)
    found.discard(module)
    return found


GRAPH = {module: imported(module) for module in MODULES}


def layer_of(module: str) -> int:
    """The index in `LAYERS` of the longest declared name `module` falls under."""
    best, index = "", -1
    for position, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > len(best):
                best, index = name, position
    return index


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_module_has_a_layer() -> None:
    """Each module of the package falls under one declared layer."""
    assert [module for module in MODULES if layer_of(module) < 0] == []


def test_the_root_holds_only_the_surface_and_the_assembly() -> None:
    """At most ten modules lie loose in the package root; the rest live in subpackages."""
    loose = sorted(path.name for path in ROOT.glob("*.py"))
    assert len(loose) <= MAX_ROOT_MODULES, loose


def test_imports_point_down() -> None:
    """No module imports one of a higher layer."""
    upward = [
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        for target in sorted(targets)
        if layer_of(target) > layer_of(module)
    ]
    assert upward == []


def test_no_import_cycles() -> None:
    """No modules import each other in a circle, whatever guards the imports."""
    assert cycles(GRAPH) == []


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}, "c": set()}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ],
)
def test_the_cycle_finder_finds_cycles(
    graph: dict[str, set[str]], expected: list[list[str]]
) -> None:
    """The checker itself reports a circle, and only a circle."""
    assert cycles(graph) == expected


def test_the_import_reader_sees_guarded_imports() -> None:
    """Imports behind ``TYPE_CHECKING`` and inside functions count like any other."""
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from ..routes import ApiRoute\n"
        "def later() -> None:\n"
        "    from ..streams import Hub\n"
    )
    found = imported(f"{PACKAGE}.http._middleware", source)
    assert found == {f"{PACKAGE}.routes", f"{PACKAGE}.streams"}
    assert all(layer_of(target) > layer_of(f"{PACKAGE}.http._middleware") for target in found)


# Private modules of libraries the package may still import, each with its reason. Anything
# else private of a library is refused: own the few lines, or use the public API.
LIBRARY_INTERNALS = {
    # The one documented exception: granian has no public API to serve an app on a socket we
    # bound ourselves in this process (its embedded mode); pinned to 2.8.x in pyproject.toml.
    "granian._granian": "server/_granian_server.py: embedded granian on our own socket",
}


def subpackage_of(module: str) -> str | None:
    """The first-level subpackage `module` lies in (``data`` for ``…data.views._scan``)."""
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and MODULES[module].name == "__init__.py"):
        return parts[1]
    return None


def statements(module: str) -> list[tuple[str, list[str]]]:
    """Every import of `module`: the module named, and the names taken from it."""
    path = MODULES[module]
    here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            found.append((target, [alias.name for alias in node.names]))
    return found


def test_no_module_reaches_into_another_subpackage() -> None:
    """A subpackage is entered through its ``__init__``: no private module, no private name of
    another subpackage is imported."""
    reaching = []
    for module in MODULES:
        mine = subpackage_of(module)
        for target, names in statements(module):
            if not target.startswith(PACKAGE + ".") or target not in MODULES:
                continue
            theirs = subpackage_of(target)
            if theirs is None or theirs == mine:
                continue
            inner = target.split(".")[2:]
            private = [name for name in names if name.startswith("_")]
            if any(part.startswith("_") for part in inner) or private:
                reaching.append(f"{module} -> {target} {private}")
    assert reaching == []


def test_no_private_module_of_a_library() -> None:
    """Library internals are imported only where `LIBRARY_INTERNALS` says why."""
    used = {
        target
        for module in MODULES
        for target, _ in statements(module)
        if not target.startswith(PACKAGE)
        and target != "__future__"
        and any(part.startswith("_") for part in target.split("."))
    }
    assert sorted(used - LIBRARY_INTERNALS.keys()) == []
    assert sorted(LIBRARY_INTERNALS.keys() - used) == []  # a stale excuse goes too


def test_only_the_backend_names_a_redis_client() -> None:
    """Above the backend, code talks to the `CacheClient` protocol: no module imports redis-py's
    client (the demo, which writes sample data with it, aside)."""
    naming = [
        f"{module} -> {target}"
        for module in MODULES
        if subpackage_of(module) not in ("backend", "demo")
        for target, _ in statements(module)
        if target == "redis.asyncio" or target.startswith(("redis.asyncio.", "redis.client"))
    ]
    assert naming == []
