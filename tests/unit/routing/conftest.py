"""Routing tests run on a migrated database with the seeded providers: text messages mmg 51 and
firetext 49 (both active, both able to send abroad), email ses 10 and smtp 5, letters dvla 50.

`routing_db` reads and edits provider rows directly, as an operator's SQL or another process would;
the balancer under test always works through its own sessions.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from clarion.clock import ManualClock
from clarion.db.models import ProviderDetails, ProviderDetailsHistory, RoutingState
from clarion.routing import Balancer, RoutingRules
from tests.unit.delivery.factory import add_notification  # noqa: F401  (fixture)


class RoutingDb:
    """What the database holds for routing, read fresh on every call."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def weights(self, notification_type: str = "sms") -> dict[str, int]:
        """The active providers' weights."""
        return {row.identifier: row.priority for row in self.providers(notification_type).values() if row.active}

    def providers(self, notification_type: str = "sms") -> dict[str, ProviderDetails]:
        with self.sessions() as session:
            rows = session.scalars(select(ProviderDetails)
                                   .where(ProviderDetails.notification_type == notification_type))
            return {row.identifier: row for row in rows}

    def history(self, notification_type: str = "sms") -> list[ProviderDetailsHistory]:
        """History rows written after the seeds (version 1), oldest first."""
        h = ProviderDetailsHistory
        with self.sessions() as session:
            return list(session.scalars(select(h).where(h.notification_type == notification_type, h.version > 1)
                                        .order_by(h.version, h.identifier)))

    def state(self, notification_type: str = "sms") -> RoutingState:
        with self.sessions() as session:
            return session.get_one(RoutingState, notification_type)

    def edit(self, identifier: str, notification_type: str = "sms", **values: Any) -> None:
        """Change a provider row behind routing's back (no history, no guard)."""
        with self.sessions.begin() as session:
            session.execute(update(ProviderDetails).where(ProviderDetails.identifier == identifier,
                                                          ProviderDetails.notification_type == notification_type)
                            .values(**values))


@pytest.fixture
def routing_db(sessions: sessionmaker[Session]) -> RoutingDb:
    return RoutingDb(sessions)


@pytest.fixture
def rules() -> RoutingRules:
    """The blog post's numbers: step 10, one fault, 60 s guards, an hour's quiet, 51/49 and 10/5."""
    return RoutingRules()


@pytest.fixture
def balancer(sessions: sessionmaker[Session], clock: ManualClock, rules: RoutingRules) -> Balancer:
    return Balancer(sessions, clock, rules)
