"""A stand-in for aiokafka's ``BatchBuilder``, for the stage and batch tests."""

from __future__ import annotations

from typing import Any


class Builder:
    """Holds at most ``room`` records; refuses more, as a full batch does."""

    def __init__(self, room: int = 1_000_000) -> None:
        self.room = room
        self.records: list[tuple[bytes | None, bytes | None]] = []
        self.closed = False

    def append(self, *, key: bytes | None, value: bytes | None, **_: Any) -> object | None:
        if self.closed or len(self.records) >= self.room:
            return None
        self.records.append((key, value))
        return object()

    def record_count(self) -> int:
        return len(self.records)

    def close(self) -> None:
        self.closed = True
