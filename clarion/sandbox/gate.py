"""The fault gate every simulated request passes first: count it, then maybe delay, hang or refuse it.

`pass_gate` is protocol-neutral (the SMTP server uses it too); `guarded` wraps an aiohttp handler so
a fault is answered in the provider's own style by the provider's `FaultReply`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from aiohttp import web

from clarion.sandbox.faults import Fault
from clarion.sandbox.state import SandboxState

__all__ = ["MAX_HANG_S", "FaultReply", "Handler", "guarded", "pass_gate"]

# A timeout fault holds the request this long at most, so nothing hangs forever; clients give up sooner.
MAX_HANG_S = 120.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FaultReply = Callable[[Fault], web.StreamResponse]


async def pass_gate(state: SandboxState, provider: str) -> Fault | None:
    """Count a request to `provider` and apply its faults; the fault to answer with, or None to go on."""
    stats = state.stats.of(provider)
    stats.requests += 1
    settings = state.faults.of(provider)
    fault = settings.decide(state.rng.random())
    if fault is Fault.DOWN:
        stats.faults_injected += 1
        return fault
    if settings.latency_ms:
        await state.sleep(settings.latency_ms / 1000)
    if fault is None:
        return None
    stats.faults_injected += 1
    if fault is Fault.TIMEOUT:
        await hang(state)
    return fault


async def answer_hung_request(request: web.Request, response: web.StreamResponse, state: SandboxState) -> None:
    """Send a released request's answer in full before the server may close its connection."""
    try:
        await response.prepare(request)
        await response.write_eof()
    finally:
        state.hanging -= 1


async def hang(state: SandboxState) -> None:
    """Wait until the sandbox stops or MAX_HANG_S passes (the client has long given up by then)."""
    state.hanging += 1  # until its answer is written (`answer_hung_request`); stopping waits for it
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.stopping.wait(), MAX_HANG_S)
    except BaseException:  # the client went away and aiohttp cancelled the handler: nothing to answer
        state.hanging -= 1
        raise


def guarded(state: SandboxState, provider: str, reply: FaultReply, handler: Handler) -> Handler:
    """`handler` behind `provider`'s fault gate."""

    async def gated(request: web.Request) -> web.StreamResponse:
        fault = await pass_gate(state, provider)
        if fault is Fault.TIMEOUT:
            response = reply(fault)
            await answer_hung_request(request, response, state)
            return response
        if fault is not None:
            return reply(fault)
        return await handler(request)

    return gated
