"""Group commit: concurrent requests share transactions, and each learns its own row's fate."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, func, select
from sqlalchemy.exc import IntegrityError

from clarion.api.writer import InsertBatcher
from clarion.db.engine import make_async_engine

ROWS = Table("rows", MetaData(), Column("id", Integer, primary_key=True), Column("note", String(20)))


async def _with_table(url: str, body: Any) -> Any:
    engine = make_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(ROWS.metadata.create_all)
        return await body(engine)
    finally:
        await engine.dispose()


async def _count(engine: Any) -> int:
    async with engine.connect() as connection:
        return (await connection.execute(select(func.count()).select_from(ROWS))).scalar_one()


def test_concurrent_inserts_share_transactions_and_all_commit(database_url: str) -> None:
    async def body(engine: Any) -> tuple[int, int]:
        writer = InsertBatcher(engine, ROWS, max_in_flight=1)
        await asyncio.gather(*(writer.insert({"id": i, "note": "x"}) for i in range(200)))
        return await _count(engine), writer.batches_written

    count, batches = asyncio.run(_with_table(database_url, body))
    assert count == 200
    assert batches < 200  # rows that arrived during a flush went together in the next one


def test_a_lone_insert_is_committed_before_it_returns(database_url: str) -> None:
    async def body(engine: Any) -> int:
        await InsertBatcher(engine, ROWS).insert({"id": 1, "note": "alone"})
        return await _count(engine)

    assert asyncio.run(_with_table(database_url, body)) == 1


def test_a_bad_row_fails_only_its_own_request(database_url: str) -> None:
    async def body(engine: Any) -> tuple[list[Any], int]:
        writer = InsertBatcher(engine, ROWS, max_in_flight=1)
        rows = [{"id": i, "note": "x"} for i in range(10)] + [{"id": 3, "note": "duplicate"}]
        results = await asyncio.gather(*(writer.insert(row) for row in rows), return_exceptions=True)
        return results, await _count(engine)

    results, count = asyncio.run(_with_table(database_url, body))
    assert count == 10
    assert [type(r) for r in results if r is not None] == [IntegrityError]
    assert results[-1] is not None and all(r is None for r in results[:-1])
