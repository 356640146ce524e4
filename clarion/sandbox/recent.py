"""A bounded memory of recently seen message keys, so a resent message is acknowledged, not sent twice.

Real providers deduplicate within a window, not forever. Two generations of dicts keep memory bounded
at `capacity` keys with O(1) work per key: when the newer generation is full it becomes the older
one and the oldest generation is dropped.
"""

from __future__ import annotations

from typing import Generic, TypeVar

__all__ = ["DEFAULT_CAPACITY", "RecentKeys"]

V = TypeVar("V")

# Between 100,000 and 200,000 keys per provider are remembered: at least five minutes at 300 messages
# a second (long enough for clarion's retries), in about 40 MB at most.
DEFAULT_CAPACITY = 200_000


class RecentKeys(Generic[V]):
    """Remembers up to `capacity` recent keys, each with a value (e.g. the reference it was given)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 2:
            raise ValueError("capacity must be at least 2")
        self._generation_size = capacity // 2
        self._newer: dict[str, V] = {}
        self._older: dict[str, V] = {}

    def get(self, key: str) -> V | None:
        """The value remembered for `key`, or None if it was not seen recently."""
        found = self._newer.get(key)
        return found if found is not None else self._older.get(key)

    def remember(self, key: str, value: V) -> None:
        """Remember `key`; the oldest keys are forgotten once `capacity` is reached."""
        if len(self._newer) >= self._generation_size:
            self._older, self._newer = self._newer, {}
        self._newer[key] = value

    def __len__(self) -> int:
        return len(self._newer) + len(self._older)
