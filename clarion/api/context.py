"""What the API's handlers share, built once by the app's lifespan and kept on `app.state.api`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from clarion.api import store
from clarion.api.auth import VerifiedTokens
from clarion.api.cache import TtlCache
from clarion.api.enqueue import EnqueueBatcher
from clarion.api.metrics import ApiMetrics
from clarion.api.receipts import ReceiptIntake
from clarion.api.writer import InsertBatcher
from clarion.clock import Clock
from clarion.config import Settings
from clarion.crypto import SecretBox
from clarion.delivery.intake import ServiceInfo, TemplateInfo
from clarion.letters import LetterStores, stores_from_settings
from clarion.limits import Limits

__all__ = ["ApiContext"]


@dataclass
class ApiContext:
    """The async engine, caches (services, templates, verified JWTs), limits, batchers, metrics of one process."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    box: SecretBox
    limits: Limits
    writer: InsertBatcher
    batcher: EnqueueBatcher
    metrics: ApiMetrics
    services: TtlCache[uuid.UUID, ServiceInfo | None] = field(init=False)
    templates: TtlCache[tuple[uuid.UUID, uuid.UUID], TemplateInfo | None] = field(init=False)
    tokens: VerifiedTokens = field(default_factory=VerifiedTokens)  # JWTs whose signature checked out
    receipts: ReceiptIntake | None = None  # provider receipt endpoints: credential checks and their batcher
    letter_stores: LetterStores | None = None  # precompiled PDFs in, GET .../pdf out; LETTERS_STORAGE's by default

    def __post_init__(self) -> None:
        self.services = TtlCache(ttl_s=self.settings.cache_ttl_s, clock=self.clock)
        self.templates = TtlCache(ttl_s=self.settings.cache_ttl_s, clock=self.clock)
        if self.letter_stores is None:
            self.letter_stores = stores_from_settings(self.settings)

    @property
    def letters(self) -> LetterStores:
        """The scan and PDF stores of letters."""
        assert self.letter_stores is not None  # set by __post_init__
        return self.letter_stores

    async def service(self, service_id: uuid.UUID) -> ServiceInfo | None:
        """The service with its keys, senders and guest list, from the cache or the database."""
        return await self.services.get(service_id, lambda: store.load_service(
            self.engine, service_id, box=self.box, now=self.clock.now()))

    async def template(self, service_id: uuid.UUID, template_id: uuid.UUID) -> TemplateInfo | None:
        """The current version of one of the service's templates, from the cache or the database."""
        return await self.templates.get((service_id, template_id), lambda: store.get_template(
            self.engine, service_id, template_id))
