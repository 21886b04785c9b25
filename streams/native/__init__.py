"""The compiled build of the pure core and the codecs, and whether this process runs it.

``make compile`` (``python -m streams.native.build``) compiles :data:`MODULES` with mypyc
into extension modules beside their sources, plus one shared library
(``streams/_compiled__mypyc.*.so``), and then writes a manifest of the sources it
compiled (``streams/_compiled.json``); all of them are git-ignored. The ``.py`` files stay
the source: Python's import system prefers an extension module to its source, so
:func:`select`, called by ``streams/__init__.py`` before any of these modules is imported,
decides for the whole process:

- the compiled modules run when the manifest is there, was built by this interpreter, and
  names every module's current source with its extension beside it;
- otherwise every one of them runs from its ``.py`` (never a mix: compiled code calls
  the compiled classes of its own build directly): when ``RPS_PURE_PYTHON=1``, when
  nothing was built or the build failed, when a source changed since the build.

The choice is read from the environment, not from ``rps.settings``: it must be made
before anything in ``streams`` is imported, and a child process inherits it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
"""The folder that holds the ``streams`` package."""

GROUP = "streams._compiled"
"""The name of the build's shared library (``__mypyc`` is appended by mypyc)."""


MODULES: tuple[str, ...] = (
    "streams.core.catalogue",
    "streams.core.consent",
    "streams.core.decide",
    "streams.core.erasure",
    "streams.core.facts",
    "streams.core.merge",
    "streams.core.outputs",
    "streams.core.permissions",
    "streams.core.profile",
    "streams.core.reconcile",
    "streams.core.subscriptions",
    "streams.worker.audit_records",
    "streams.worker.codec",
    "streams.worker.stored",
)
"""The modules compiled: the pure core (its ``__init__`` only re-exports) and the codecs."""

PURE_PYTHON = "RPS_PURE_PYTHON"


@dataclass(frozen=True, slots=True)
class Mode:
    """Whether this process runs the compiled modules, and if not, why not."""

    compiled: bool
    reason: str


def source(name: str, root: Path = ROOT) -> Path:
    """The ``.py`` file of a module of :data:`MODULES`."""
    return root.joinpath(*name.split(".")).with_suffix(".py")


def extension(name: str, root: Path = ROOT) -> Path:
    """Where the build puts a module's (or the shared library's) extension module."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    return root.joinpath(*name.split(".")).with_name(name.rpartition(".")[2] + suffix)


def manifest_file(root: Path = ROOT) -> Path:
    """Where the build records what it compiled."""
    return root / "streams" / "_compiled.json"


def fingerprint(path: Path) -> str:
    """The digest of a source file, as the manifest records it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def abi() -> str:
    """The interpreter a build is for: its extension modules' suffix."""
    return str(sysconfig.get_config_var("EXT_SUFFIX"))


def manifest(root: Path = ROOT) -> dict[str, object]:
    """What a build of the current sources records."""
    return {
        "abi": abi(),
        "group": GROUP,
        "sources": {name: fingerprint(source(name, root)) for name in MODULES},
    }


def problem(root: Path = ROOT) -> str | None:
    """Why the compiled modules under ``root`` must not run (None: they may)."""
    try:
        built = json.loads(manifest_file(root).read_text())
    except FileNotFoundError:
        return "not built"
    except (OSError, ValueError):
        return "manifest unreadable"
    if not isinstance(built, dict) or built.get("abi") != abi():
        return "built for another Python"
    sources = built.get("sources")
    if not isinstance(sources, dict) or sorted(sources) != sorted(MODULES):
        return "built from another list of modules"
    for name in (*MODULES, f"{GROUP}__mypyc"):
        if not extension(name, root).is_file():
            return f"{name} not built"
    for name in MODULES:
        if sources[name] != fingerprint(source(name, root)):
            return f"{name} changed since the build"
    return None


def choose(environ: Mapping[str, str], root: Path = ROOT) -> Mode:
    """The mode for a process with ``environ``, over the build under ``root``."""
    if environ.get(PURE_PYTHON, "").strip() not in ("", "0"):
        return Mode(False, f"{PURE_PYTHON} is set")
    reason = problem(root)
    return Mode(reason is None, reason or "compiled")


class SourcesFirst(MetaPathFinder):
    """Finds the ``.py`` source of every module in a package, ahead of a compiled extension
    beside it (this build's, or one a build with another list of modules left)."""

    def __init__(self, package: str) -> None:
        self.prefix = package + "."

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if not fullname.startswith(self.prefix) or not path:
            return None
        leaf = fullname.rpartition(".")[2] + ".py"
        for entry in path:
            candidate = Path(entry, leaf)
            if candidate.is_file():
                return importlib.util.spec_from_file_location(fullname, candidate)
        return None


_chosen: Mode | None = None


def select() -> Mode:
    """Choose, once per process, between the compiled modules and their sources."""
    global _chosen
    if _chosen is None:
        _chosen = choose(os.environ)
        if not _chosen.compiled:
            sys.meta_path.insert(0, SourcesFirst("streams"))
    return _chosen


def describe() -> str:
    """What :func:`select` chose, in a few words, for a benchmark's or a test run's header."""
    chosen = select()
    return "compiled with mypyc" if chosen.compiled else f"pure Python ({chosen.reason})"


def running() -> dict[str, bool]:
    """Per module of :data:`MODULES` already imported, whether it runs compiled."""
    return {
        name: not str(getattr(module, "__file__", "")).endswith(".py")
        for name in MODULES
        if (module := sys.modules.get(name)) is not None
    }
