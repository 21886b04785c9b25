"""The import map runs one way: no package imports one above it, and no modules import in a circle.

The layers, lowest first (packages on one layer import neither each other nor
anything above):

    schemas  <  rps  <  infra, producers  <  streams  <  consumers  <  portal  <  cli

Every import counts, wherever it stands: at module level, inside a function
(the command line's lazy imports) or under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[2]

LAYERS: tuple[tuple[str, ...], ...] = (
    ("schemas",),
    ("rps",),
    ("infra", "producers"),
    ("streams",),
    ("consumers",),
    ("portal",),
    ("cli",),
)
RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}

KNOWN_CIRCLES: frozenset[frozenset[str]] = frozenset()


@dataclass(frozen=True, slots=True)
class Import:
    """One import statement's target, resolved to a module of ours."""

    importer: str
    imported: str
    line: int


def top_level_packages() -> set[str]:
    """Every folder at the repository's root that is a Python package, tests aside."""
    return {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in {"tests", "build"}
    }


def modules() -> dict[str, Path]:
    """Every module of the top-level packages, by dotted name."""
    found: dict[str, Path] = {}
    for package in sorted(top_level_packages()):
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT)
            if "node_modules" in relative.parts:
                continue
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[Import]:
    """The modules of ours that ``name`` imports (a name imported from a package counts as
    the package, a submodule imported from it as the submodule)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]

    def ours(target: str) -> str | None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        return target or None

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *filter(None, [base])])
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        for target in targets:
            resolved = ours(target)
            if resolved is not None and resolved != name:
                yield Import(name, resolved, node.lineno)


def every_import() -> list[Import]:
    known = modules()
    return [found for name, path in known.items() for found in imports(name, path, known)]


def test_every_top_level_package_has_a_layer() -> None:
    """A new top-level package must be placed in the order before it may import anything."""
    assert top_level_packages() == set(RANK), "add the package to LAYERS (and CONTRIBUTING.md)"


def against_the_layers(found: list[Import]) -> list[str]:
    """The imports of a package on the same layer or above, as ``module:line imports module``."""
    offenders = []
    for one in found:
        importer, imported = one.importer.split(".")[0], one.imported.split(".")[0]
        if importer != imported and RANK[imported] >= RANK[importer]:
            offenders.append(f"{one.importer}:{one.line} imports {one.imported}")
    return offenders


def test_no_import_runs_back_up_or_sideways() -> None:
    """A package imports only packages on lower layers (or itself); the offenders are named."""
    assert against_the_layers(every_import()) == []


def circles(edges: list[tuple[str, str]]) -> set[frozenset[str]]:
    """The groups of modules that reach one another through their imports."""
    graph: dict[str, set[str]] = defaultdict(set)
    for importer, imported in edges:
        graph[importer].add(imported)

    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            module = todo.pop()
            if module not in seen:
                seen.add(module)
                todo.extend(graph[module])
        return seen

    reach = {module: reachable(module) for module in list(graph)}
    return {
        frozenset({module, *(other for other in around if module in reach.get(other, ()))})
        for module, around in reach.items()
        if module in around
    }


def test_no_modules_import_in_a_circle() -> None:
    """No module reaches itself through the modules it imports."""
    found = circles([(found.importer, found.imported) for found in every_import()])
    assert found == KNOWN_CIRCLES


def test_the_checks_see_what_they_look_for() -> None:
    """The checker itself works: it finds imports, upward ones and circles."""
    found = every_import()
    assert len(found) > 300
    assert any(f.importer == "cli.main" and f.imported == "cli.replay" for f in found)
    assert any(f.importer == "cli.common" and f.imported == "rps.settings" for f in found)
    upward = [Import("schemas.topics", "rps.settings", 3), Import("infra.kafka", "producers", 4)]
    assert against_the_layers(upward) == [
        "schemas.topics:3 imports rps.settings",
        "infra.kafka:4 imports producers",
    ]
    assert circles([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]) == {frozenset("abc")}
