"""Compile the pure core and the codecs with mypyc, beside their sources.

``make compile`` runs ``python -m streams.native.build`` from the repository's root (``make
setup`` runs it, so a fresh clone's ``make test`` and ``.ci/run`` build it). It compiles
:data:`streams.native.MODULES` with the pinned mypy's mypyc into extension modules beside
their ``.py`` files, checks that a fresh interpreter runs them, and only then writes the
manifest that lets a process run them (:mod:`streams.native`). It does nothing when the
manifest already names the current sources.

A build that fails (no C compiler, no Python headers, a mypyc error) removes what it left
and says so in one line, with exit status 0: the ``.py`` files then run, as they do
without a build. ``--clean`` removes the build; ``--force`` builds even when up to date.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from streams import native

CHECK = (
    "import importlib, streams.native as n\n"
    "for name in n.MODULES: importlib.import_module(name)\n"
    "assert n.select().compiled and all(n.running().values()), n.select()\n"
)
"""Run by a fresh interpreter: every module imports, compiled."""


def artefacts(root: Path) -> list[Path]:
    """Every file a build leaves beside the sources: the manifest and every extension module
    under ``streams/`` (this build's, or one a build with another list of modules left)."""
    return [native.manifest_file(root), *sorted((root / "streams").rglob("*.so"))]


def clean(root: Path) -> None:
    """Remove the build: the sources run from then on."""
    for path in artefacts(root):
        path.unlink(missing_ok=True)


def compile_modules(root: Path) -> None:
    """mypyc over the modules, with the project's mypy settings; the extensions in place."""
    import setuptools  # noqa: F401  (imported first, mypyc builds with setuptools)
    from mypyc.build import mypycify
    from setuptools import Distribution

    paths = [str(native.source(name, root).relative_to(root)) for name in native.MODULES]
    extensions = mypycify(paths, group_name=native.GROUP, target_dir="build/mypyc")
    arguments = ["--quiet", "build_ext", "--inplace", "--build-temp", "build/mypyc/temp"]
    distribution = Distribution({"ext_modules": extensions, "script_args": arguments})
    distribution.parse_command_line()
    distribution.run_commands()


def build(root: Path) -> str | None:
    """Build the modules under ``root``; None when built, else why not (and nothing left)."""
    clean(root)
    record = native.manifest(root)  # the sources as they are compiled
    try:
        compile_modules(root)
    except (Exception, SystemExit) as error:  # any failure: the sources run instead
        clean(root)
        return f"{type(error).__name__}: {error}".strip()
    native.manifest_file(root).write_text(json.dumps(record, indent=2) + "\n")
    environ = {**os.environ, native.PURE_PYTHON: ""}
    checked = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=root, env=environ, capture_output=True, text=True
    )
    if checked.returncode != 0:
        clean(root)
        lines = checked.stderr.strip().splitlines() or ["no output"]
        return f"the compiled modules do not import: {lines[-1]}"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="remove the build")
    parser.add_argument("--force", action="store_true", help="build even when up to date")
    args = parser.parse_args(argv)
    root = native.ROOT
    os.chdir(root)
    count = len(native.MODULES)
    if args.clean:
        clean(root)
        print(f"compiled modules removed: the {count} modules run from their sources")
        return 0
    if not args.force and native.problem(root) is None:
        print(f"compiled modules up to date ({count} modules)")
        return 0
    began = time.monotonic()
    failure = build(root)
    took = time.monotonic() - began
    if failure is None:
        print(f"compiled {count} modules with mypyc in {took:.0f} s")
    else:
        print(f"compiled modules not built ({failure}); the {count} modules run from their sources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
