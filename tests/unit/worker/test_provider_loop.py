"""The worker's event loop runs provider calls from any thread and stops cleanly."""

from __future__ import annotations

import asyncio
import threading

from clarion.worker.provider_loop import ProviderLoop


def test_calls_from_several_threads_run_side_by_side_on_the_one_loop() -> None:
    loop = ProviderLoop()
    started, release = threading.Barrier(3), asyncio.Event()
    loops: list[asyncio.AbstractEventLoop] = []

    async def call(n: int) -> int:
        loops.append(asyncio.get_running_loop())
        if len(loops) == 3:
            release.set()
        await release.wait()  # no call finishes until all three are in flight
        return n * 2

    try:
        futures = []

        def submit(n: int) -> None:
            started.wait()
            futures.append(loop.run(call(n)))

        threads = [threading.Thread(target=submit, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(future.result(timeout=10) for future in futures) == [0, 2, 4]
        assert len(set(map(id, loops))) == 1
    finally:
        loop.close()


def test_closing_cancels_what_still_runs() -> None:
    loop = ProviderLoop()
    hung = loop.run(asyncio.Event().wait())
    loop.close()
    assert hung.cancelled()
    loop.close()  # a second close does nothing
