"""Settings come from the environment, and production refuses the published local secrets."""

import pytest
from pydantic import ValidationError

from clarion.config import Settings


def test_settings_are_read_from_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMS_PROVIDER_RESTING_POINTS", '{"mmg": 60, "firetext": 40}')
    monkeypatch.setenv("API_PORT", "7011")
    settings = Settings()
    assert (settings.sms_provider_resting_points, settings.api_port) == ({"mmg": 60, "firetext": 40}, 7011)


@pytest.mark.parametrize("secrets", [{}, {"secret_key": "a real one"}, {"admin_client_secret": "a real one"}])
def test_production_refuses_to_start_on_a_local_default_secret(secrets: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="still the local default"):
        Settings(environment="production", **secrets)


def test_production_starts_with_secrets_of_its_own() -> None:
    settings = Settings(environment="production", secret_key="one", admin_client_secret="two")
    assert not settings.uses_local_secrets
