"""The registry finds a client by channel and name, and says which ones exist when it cannot."""

from __future__ import annotations

import pytest

from clarion.clock import ManualClock
from clarion.providers import errors
from clarion.providers.registry import NotificationProviderClients
from tests.conftest import START
from tests.unit.delivery.fakes import FakeEmail, FakeSms


def test_a_client_is_found_by_name_and_channel() -> None:
    clock = ManualClock(START)
    mmg, firetext, ses = FakeSms(name="mmg", clock=clock), FakeSms(name="firetext", clock=clock), FakeEmail(clock=clock)
    registry = NotificationProviderClients([mmg, firetext, ses])
    assert registry.get_client_by_name_and_type("firetext", "sms") is firetext
    assert registry.get_client_by_name_and_type("ses", "email") is ses
    assert registry.names("sms") == ["firetext", "mmg"]


def test_an_unknown_provider_names_the_configured_ones_of_that_channel() -> None:
    registry = NotificationProviderClients([FakeSms(name="mmg", clock=ManualClock(START)), FakeEmail(clock=ManualClock(START))])
    with pytest.raises(errors.UnknownProvider, match=r"firetext: no sms client configured; configured: \['mmg'\]"):
        registry.get_client_by_name_and_type("firetext", "sms")
    with pytest.raises(errors.UnknownProvider):
        registry.get_client_by_name_and_type("ses", "sms")


def test_an_empty_registry_knows_no_provider() -> None:
    with pytest.raises(errors.UnknownProvider, match=r"configured: \[\]"):
        NotificationProviderClients([]).get_client_by_name_and_type("mmg", "sms")


@pytest.mark.parametrize(("error", "category"), [
    (errors.ProviderUnavailable, errors.RetryableProviderError),
    (errors.ProviderTimeout, errors.RetryableProviderError),
    (errors.ProviderThrottled, errors.ProviderError),
    (errors.PermanentProviderError, errors.ProviderError),
    (errors.UnknownProvider, errors.ProviderError),
])
def test_every_failure_belongs_to_the_category_that_says_what_to_do(error: type, category: type) -> None:
    raised = error("mmg", "HTTP 503")
    assert isinstance(raised, category)
    assert (str(raised), raised.provider) == ("mmg: HTTP 503", "mmg")


def test_throttling_and_permanent_failures_are_not_retryable_faults() -> None:
    assert not issubclass(errors.ProviderThrottled, errors.RetryableProviderError)
    assert not issubclass(errors.PermanentProviderError, errors.RetryableProviderError)
