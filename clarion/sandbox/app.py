"""The sandbox process: every simulated provider on one aiohttp server, plus the SMTP relay, one loop.

Adding a simulated HTTP provider: write `clarion/sandbox/<name>.py` with `NAME = "<name>"` (the
name faults and stats use) and `routes(state: SandboxState) -> list[web.RouteDef]` (wrap each
handler in `gate.guarded(state, NAME, <fault reply>, handler)` so faults apply), then add the module
to HTTP_PROVIDERS below. Nothing else changes: the control endpoint, `clarion sandbox set` and
/_sandbox/stats pick the name up from that tuple.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import socket
from typing import Protocol

from aiohttp import web

from clarion.clock import Clock, SystemClock
from clarion.config import Settings
from clarion.logs import configure_logging
from clarion.sandbox import control, dvla, firetext, mmg, ses, smtp
from clarion.sandbox.faults import FaultBoard
from clarion.sandbox.poster import ReceiptScheduler
from clarion.sandbox.ses_events import topic_arn
from clarion.sandbox.sns_signing import CERTIFICATE_PATH, SnsSigner
from clarion.sandbox.state import SandboxConfig, SandboxState
from clarion.sandbox.stats import Stats

__all__ = ["FAULT_PROVIDERS", "HTTP_PROVIDERS", "SandboxServer", "build_state", "create_app", "run_sandbox"]

logger = logging.getLogger(__name__)


class SimulatedProvider(Protocol):
    """What a simulated HTTP provider module exposes."""

    NAME: str

    def routes(self, state: SandboxState) -> list[web.RouteDef]:
        """The provider's endpoints, each behind its fault gate."""


# The registration point: one module per simulated HTTP provider.
HTTP_PROVIDERS: tuple[SimulatedProvider, ...] = (mmg, firetext, ses, dvla)
FAULT_PROVIDERS: tuple[str, ...] = tuple(provider.NAME for provider in HTTP_PROVIDERS) + (smtp.NAME,)
SHUTDOWN_TIMEOUT_S = 2.0
MAX_REQUEST_BYTES = 16 * 1024 * 1024  # room for large emails; aiohttp's default is 1 MiB


def build_state(config: SandboxConfig, *, public_url: str, clock: Clock, rng: random.Random) -> SandboxState:
    """The shared state of a sandbox reachable at `public_url`."""
    stats = Stats(FAULT_PROVIDERS)
    signer = SnsSigner(
        certificate_url=public_url + CERTIFICATE_PATH,
        unsubscribe_url=public_url + "/_sandbox/sns/unsubscribe",
        topic_arn=topic_arn(config.aws_region),
        now=clock.now(), signature_version=config.sns_signature_version)
    return SandboxState(
        config=config, public_url=public_url, clock=clock, rng=rng,
        faults=FaultBoard(FAULT_PROVIDERS, default_receipt_delay_s=config.receipt_delay_s,
                          provider_receipt_delays_s=config.provider_receipt_delays_s), stats=stats,
        receipts=ReceiptScheduler(clock=clock, stats=stats, retry_delays_s=config.receipt_retry_delays_s),
        signer=signer)


def create_app(state: SandboxState) -> web.Application:
    """The aiohttp application: every simulated provider's routes and the control endpoints."""
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    for provider in HTTP_PROVIDERS:
        app.add_routes(provider.routes(state))
    app.add_routes(control.routes(state))
    return app


class SandboxServer:
    """A running sandbox: HTTP and SMTP listening, receipts posting. Start and stop it on one loop."""

    def __init__(self, config: SandboxConfig, *, clock: Clock | None = None, rng: random.Random | None = None) -> None:
        self.config = config
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._runner: web.AppRunner | None = None
        self._smtp: asyncio.Server | None = None
        self.state: SandboxState | None = None
        self.http_port = self.smtp_port = 0

    @property
    def url(self) -> str:
        """How clients reach the HTTP side, e.g. http://127.0.0.1:6300."""
        host = "127.0.0.1" if self.config.host in ("", "0.0.0.0") else self.config.host
        host = "[::1]" if host == "::" else f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.http_port}"

    async def start(self) -> None:
        """Listen (port 0 picks free ports) and start posting receipts; OSError if a port is taken."""
        loop = asyncio.get_running_loop()
        http_socket = _listening_socket(self.config.host, self.config.port)
        try:
            smtp_socket = _listening_socket(self.config.host, self.config.smtp_port)
        except OSError:
            http_socket.close()
            raise
        self.http_port, self.smtp_port = http_socket.getsockname()[1], smtp_socket.getsockname()[1]
        state = self.state = build_state(self.config, public_url=self.url, clock=self._clock, rng=self._rng)
        await state.receipts.start()
        self._runner = web.AppRunner(create_app(state), access_log=None, handler_cancellation=True,
                                     shutdown_timeout=SHUTDOWN_TIMEOUT_S)
        await self._runner.setup()
        await web.SockSite(self._runner, http_socket).start()
        self._smtp = await loop.create_server(lambda: smtp.smtp_protocol_factory(state, loop), sock=smtp_socket)
        logger.info("sandbox listening", extra={
            "url": self.url, "smtp_port": self.smtp_port, "providers": list(FAULT_PROVIDERS),
            "paths": {"mmg": mmg.PATH, "firetext": firetext.PATH, "ses": ses.PATH}})

    async def stop(self) -> None:
        """Release hung requests, stop listening, stop posting receipts."""
        if self.state is not None:
            self.state.stopping.set()
            await self._answer_hung_requests()
        if self._smtp is not None:
            self._smtp.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.state is not None:
            await self.state.receipts.close()


    async def _answer_hung_requests(self) -> None:
        # Released requests write their 504 before the server closes connections; bounded, as a
        # client that went away cannot be written to.
        deadline = asyncio.get_running_loop().time() + SHUTDOWN_TIMEOUT_S
        while self.state is not None and self.state.hanging > 0 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=1024)


def run_sandbox(settings: Settings, *, host: str | None = None, port: int | None = None) -> None:
    """Run the sandbox until SIGINT or SIGTERM; OSError if it cannot listen."""
    configure_logging("sandbox")
    # aiosmtpd logs every connection at INFO, and a warning about its own deprecated API on every login.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    config = SandboxConfig.from_settings(settings, host=host, port=port)
    with asyncio.Runner(loop_factory=_fast_loop_factory()) as runner:
        runner.run(_serve(SandboxServer(config)))


async def _serve(server: SandboxServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await server.start()
    try:
        await stop.wait()
    finally:
        logger.info("sandbox stopping")
        await server.stop()


def _fast_loop_factory() -> type[asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # uvloop comes with uvicorn[standard]; asyncio's own loop works too
        return None
    return uvloop.Loop
