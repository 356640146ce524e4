"""The interim routing policy: the active provider with the highest priority."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from clarion.db.models import ProviderDetails
from clarion.routing import select as routing

P = ProviderDetails


def test_the_active_provider_with_the_highest_priority_is_chosen(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        assert routing.choose_provider(session, "sms", international=False) == "mmg"
        session.execute(update(P).where(P.identifier == "firetext").values(priority=60))
        assert routing.choose_provider(session, "sms", international=False) == "firetext"
        assert routing.choose_provider(session, "email", international=False) == "ses"


def test_an_inactive_provider_is_never_chosen(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        session.execute(update(P).where(P.identifier == "mmg").values(active=False))
        assert routing.choose_provider(session, "sms", international=False) == "firetext"


def test_an_international_text_needs_a_provider_that_supports_it(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        session.execute(update(P).where(P.identifier == "mmg").values(supports_international=False))
        assert routing.choose_provider(session, "sms", international=True) == "firetext"
        assert routing.choose_provider(session, "sms", international=False) == "mmg"
        session.execute(update(P).where(P.identifier == "firetext").values(supports_international=False))
        with pytest.raises(routing.NoActiveProvider, match="international sms"):
            routing.choose_provider(session, "sms", international=True)


def test_no_active_provider_says_so(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        session.execute(update(P).where(P.notification_type == "email").values(active=False))
        with pytest.raises(routing.NoActiveProvider, match="no active email provider"):
            routing.choose_provider(session, "email", international=False)
