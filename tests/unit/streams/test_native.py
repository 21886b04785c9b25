"""The compiled build of the core and codecs runs only whole, current, and not when refused."""

from __future__ import annotations

import ast
import importlib
import json
import sys
from pathlib import Path

import pytest

from streams import native


def test_this_process_runs_every_module_as_chosen() -> None:
    """Each compiled module runs compiled when the build was chosen, from its source when not."""
    for name in native.MODULES:
        importlib.import_module(name)
    chosen = native.select()
    assert native.running() == dict.fromkeys(native.MODULES, chosen.compiled)


def _tree(root: Path) -> Path:
    """A copy of the modules' layout under ``root``, a source for each and nothing built."""
    for name in native.MODULES:
        path = native.source(name, root)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"NAME = {name!r}\n")
    return root


def _built(root: Path) -> Path:
    """``_tree`` with a build's artefacts: the manifest and an extension per module."""
    for name in (*native.MODULES, f"{native.GROUP}__mypyc"):
        native.extension(name, root).write_bytes(b"")
    native.manifest_file(root).write_text(json.dumps(native.manifest(root)))
    return root


def test_a_current_build_is_chosen(tmp_path: Path) -> None:
    """A manifest naming every current source, its extensions beside them: compiled."""
    root = _built(_tree(tmp_path))
    assert native.choose({}, root) == native.Mode(True, "compiled")
    assert native.choose({native.PURE_PYTHON: "0"}, root).compiled


def test_pure_python_is_chosen_when_asked(tmp_path: Path) -> None:
    """RPS_PURE_PYTHON=1 runs the sources even over a current build."""
    root = _built(_tree(tmp_path))
    chosen = native.choose({native.PURE_PYTHON: "1"}, root)
    assert chosen == native.Mode(False, "RPS_PURE_PYTHON is set")


def test_no_build_runs_the_sources(tmp_path: Path) -> None:
    """Nothing built (or the build failed and removed itself): the sources run."""
    assert native.choose({}, _tree(tmp_path)) == native.Mode(False, "not built")


def test_an_edited_source_runs_every_module_from_source(tmp_path: Path) -> None:
    """A source changed since the build is never shadowed by its stale extension."""
    root = _built(_tree(tmp_path))
    edited = native.MODULES[3]
    native.source(edited, root).write_text("NAME = 'edited'\n")
    chosen = native.choose({}, root)
    assert chosen == native.Mode(False, f"{edited} changed since the build")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"abi": ".cpython-399-elsewhere.so"}, "built for another Python"),
        ({"sources": {}}, "built from another list of modules"),
    ],
)
def test_a_build_for_something_else_is_not_chosen(
    tmp_path: Path, change: dict[str, object], reason: str
) -> None:
    """A manifest for another interpreter or another module list: the sources run."""
    root = _built(_tree(tmp_path))
    native.manifest_file(root).write_text(json.dumps({**native.manifest(root), **change}))
    assert native.choose({}, root) == native.Mode(False, reason)


def test_a_missing_extension_or_a_broken_manifest_is_not_chosen(tmp_path: Path) -> None:
    """Half a build (an extension gone, the manifest unreadable) is no build."""
    root = _built(_tree(tmp_path))
    native.extension(native.MODULES[0], root).unlink()
    assert native.choose({}, root) == native.Mode(False, f"{native.MODULES[0]} not built")
    native.manifest_file(root).write_text("{")
    assert native.choose({}, root) == native.Mode(False, "manifest unreadable")


def test_the_finder_returns_the_source_ahead_of_the_extension(tmp_path: Path) -> None:
    """With the build refused, a module with an extension beside it is loaded from its .py."""
    root = _built(_tree(tmp_path))
    name = native.MODULES[0]
    folder = str(native.source(name, root).parent)
    spec = native.SourcesFirst("streams").find_spec(name, [folder])
    assert spec is not None
    assert spec.origin == str(native.source(name, root))
    assert native.SourcesFirst("streams").find_spec("streams.core.absent", [folder]) is None
    assert native.SourcesFirst("schemas").find_spec(name, [folder]) is None


def test_the_choice_imports_only_the_standard_library() -> None:
    """Every process that imports ``streams`` makes the choice first: nothing else is loaded
    for it (the build, with mypyc and setuptools, is a separate module)."""
    tree = ast.parse(Path(native.__file__).read_text())
    names = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    names |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert {name.split(".")[0] for name in names} <= sys.stdlib_module_names
