"""The rooms of ``streams`` keep their walls: Faust and aiokafka stay in the runtime, no import
runs back up from the core or the worker, and the core does no I/O."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import streams

ROOT = Path(streams.__file__).parent
KAFKA_LIBRARIES = {"faust", "aiokafka", "mode", "kafka"}
IO_MODULES = {
    "asyncio",
    "http",
    "io",
    "logging",
    "os",
    "pathlib",
    "random",
    "select",
    "shutil",
    "socket",
    "sqlite3",
    "ssl",
    "subprocess",
    "threading",
    "time",
    "urllib",
}


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, absolute names (a relative import counts as its package)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module if node.level == 0 else f"relative.{node.module}")
    return names


def offenders(room: str, refused: set[str]) -> dict[str, list[str]]:
    """Modules of ``streams/<room>`` importing a module whose top two names hit ``refused``."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / room).rglob("*.py")):
        bad = sorted(
            name
            for name in imported(path)
            if name.split(".")[0] in refused or ".".join(name.split(".")[:2]) in refused
        )
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def loaded_after_importing(modules: list[str]) -> list[str]:
    """The Kafka-library modules a fresh interpreter holds after importing ``modules``."""
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(KAFKA_LIBRARIES)!r}))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return list(ast.literal_eval(run.stdout.strip()))


def modules_of(room: str) -> list[str]:
    return [
        "streams." + ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in sorted((ROOT / room).rglob("*.py"))
    ]


def test_the_worker_package_imports_no_faust_and_no_aiokafka() -> None:
    """No module of ``streams/worker`` imports Faust, aiokafka or mode, nor the runtime."""
    assert len(list((ROOT / "worker").glob("*.py"))) >= 10
    assert offenders("worker", KAFKA_LIBRARIES | {"streams.runtime", "infra"}) == {}


def test_importing_the_worker_package_loads_no_kafka_library() -> None:
    """Not even through what it imports: a fresh interpreter importing every worker module
    holds no module of Faust, aiokafka or mode."""
    assert loaded_after_importing(modules_of("worker")) == []


def test_the_operator_tools_import_no_faust() -> None:
    """Replay and audit reading run while no worker does, and start quickly: no Faust."""
    assert offenders("operators", {"faust", "mode", "streams.runtime.app", "infra"}) == {}
    loaded = loaded_after_importing(modules_of("operators"))
    assert [m for m in loaded if m.split(".")[0] in {"faust", "mode"}] == []


def test_only_the_runtime_imports_faust() -> None:
    """Faust is confined to ``streams/runtime``."""
    for room in ("core", "worker", "operators"):
        assert offenders(room, {"faust", "mode"}) == {}, room


def test_no_import_runs_back_up_from_the_core_or_the_worker() -> None:
    """The core imports no other room; the worker imports neither runtime nor operators."""
    assert offenders("core", {"streams.worker", "streams.runtime", "streams.operators"}) == {}
    assert offenders("worker", {"streams.runtime", "streams.operators"}) == {}


def test_the_core_does_no_io() -> None:
    """No file, process, network, clock, randomness, logging or event loop reaches the core."""
    assert offenders("core", IO_MODULES) == {}
