"""The core stays pure: it imports only the standard library and itself."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import streams.core

CORE = Path(streams.core.__file__).parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_core_imports_only_the_standard_library_and_itself() -> None:
    """No Kafka, Faust, SQL, pydantic, logging, settings or network reaches the core."""
    offenders = {}
    for path in sorted(CORE.glob("*.py")):
        foreign = {
            name
            for name in imported_modules(path)
            if not name.startswith("streams.core")
            and name.split(".")[0] not in sys.stdlib_module_names
        }
        forbidden_stdlib = {
            n for n in imported_modules(path) if n.split(".")[0] in {"logging", "socket", "asyncio"}
        }
        if foreign or forbidden_stdlib:
            offenders[path.name] = sorted(foreign | forbidden_stdlib)
    assert len(list(CORE.glob("*.py"))) >= 6
    assert offenders == {}
