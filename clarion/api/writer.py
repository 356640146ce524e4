"""Group commit for accepted notifications: many requests' rows share one INSERT and one COMMIT.

A request awaits `insert(row)` and gets its 201 only after the transaction holding its row has
committed, so nothing is acknowledged before it is durable. Up to `max_in_flight` flushes run at
once; rows that arrive while they are all busy wait for the next free one, so batches form by
themselves under load, a lone request at low load is written at once with no timer adding latency,
and one slow commit (a WAL flush stall) does not hold up every request behind it. On PostgreSQL this cuts the
per-notification cost of a transaction (BEGIN, COMMIT, WAL flush, a pool checkout); on SQLite, where
every commit is a write to the file, it is most of the cost.

On PostgreSQL a batch is one statement in autocommit mode, not BEGIN, INSERT, COMMIT: a single INSERT
(asyncpg's executemany for several rows) is atomic and durable on its own when the server answers, so
this saves two round trips per batch with the same guarantees. SQLite keeps the explicit transaction:
its executemany in autocommit mode would commit (write the file) once per row.

If a batch fails, its rows are written again one by one, so a bad row refuses only its own request.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["InsertBatcher"]

log = logging.getLogger(__name__)

Waiting = tuple[dict[str, Any], asyncio.Future[None]]


class InsertBatcher:
    """Inserts rows into one table in shared transactions; each caller waits for its own commit."""

    def __init__(self, engine: AsyncEngine, table: Table, *, max_batch: int = 500, max_in_flight: int = 4) -> None:
        self._table = table
        # One statement per batch needs no BEGIN/COMMIT on PostgreSQL (see the module docstring).
        self._one_statement = engine.dialect.name == "postgresql"
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT") if self._one_statement else engine
        self._insert = insert(table)  # built once; its compiled form is cached by SQLAlchemy
        self.max_batch, self.max_in_flight = max_batch, max_in_flight
        self._waiting: list[Waiting] = []
        self._flushes: set[asyncio.Task[None]] = set()
        self.batches_written = 0  # for tests and metrics

    async def insert(self, row: dict[str, Any]) -> None:
        """Return once `row` is committed; raise what the database raised for it."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, done))
        if len(self._flushes) < self.max_in_flight:
            flush = asyncio.get_running_loop().create_task(self._flush_while_waiting())
            self._flushes.add(flush)
            flush.add_done_callback(self._flushes.discard)
        await asyncio.shield(done)  # a cancelled request must not cancel its neighbours' commit

    async def _flush_while_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch:]
            await self._write(batch)

    async def _write(self, batch: list[Waiting]) -> None:
        try:
            await self._commit([row for row, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc)
                return
            log.warning("a batched insert failed; writing its rows one by one", extra={"count": len(batch)})
            for waiting in batch:
                await self._write([waiting])
            return
        self.batches_written += 1
        for _, done in batch:
            _settle(done, None)

    async def _commit(self, rows: list[dict[str, Any]]) -> None:
        if self._one_statement:
            async with self._engine.connect() as connection:
                await connection.execute(self._insert, rows)
            return
        async with self._engine.begin() as connection:
            await connection.execute(self._insert, rows)

    async def close(self) -> None:
        """Wait for the flushes in progress."""
        if self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
