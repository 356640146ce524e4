"""One Settings object, built once from environment variables at the edge (cli.py).

Every setting has a default that suits `clarion up` on one machine. Nothing else in clarion reads
`os.environ`; components receive only the values they need.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOCAL_SECRET = "clarion-local-development-secret-do-not-use-in-production"
LOCAL_ADMIN_SECRET = "clarion-local-admin-secret-do-not-use-in-production"
DATA_DIR = Path(".clarion")


class Settings(BaseSettings):
    """Every setting clarion reads from the environment; the defaults suit `clarion up`."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    environment: Literal["local", "test", "production"] = "local"

    # storage and queue
    database_url: str = f"sqlite:///{DATA_DIR}/clarion.db"
    broker_url: str = f"filesystem://{DATA_DIR}/broker"
    redis_url: str | None = None

    # secrets
    secret_key: SecretStr = SecretStr(LOCAL_SECRET)
    admin_client_secret: SecretStr = SecretStr(LOCAL_ADMIN_SECRET)

    # public addresses
    api_host_name: str = "http://127.0.0.1:6011"
    api_port: int = 6011
    api_workers: int = 1
    notify_email_domain: str = "notifications.clarion.local"
    from_number: str = "CLARION"

    # API behaviour
    api_rate_limit_enabled: bool = True
    api_page_size: int = 250
    cache_ttl_s: float = 2.0

    # delivery retries (Notify's deliver_sms policy: first retry immediate, then every 5 minutes)
    delivery_max_retries: int = 48
    delivery_retry_delay_s: int = 300
    # How long a worker's claim on a notification lasts; far longer than any provider call may take.
    delivery_claim_s: int = 300

    # sweepers
    requeue_created_after_s: int = 3600
    requeue_created_lookback_s: int = 7 * 24 * 3600
    sending_timeout_s: int = 259_200
    sweep_interval_s: int = 60

    # providers (names from the seeds; filled in by the providers issue)
    mmg_api_key: SecretStr = SecretStr("mmg-sandbox-key")
    mmg_url: str = "https://api.mmg.co.uk/jsonv2a/api.php"
    mmg_receipt_url: str | None = None
    firetext_api_key: SecretStr = SecretStr("firetext-sandbox-key")
    firetext_international_api_key: SecretStr = SecretStr("placeholder")
    firetext_url: str = "https://www.firetext.co.uk/api/sendsms/json"
    firetext_receipt_url: str | None = None
    aws_region: str = "eu-west-1"
    dvla_api_base_url: str = "https://uat.driver-vehicle-licensing.api.gov.uk"
    dvla_api_tls_ciphers: str | None = None
    mmg_inbound_sms_auth: list[str] = []
    firetext_inbound_sms_auth: list[str] = []
    sms_provider_resting_points: dict[str, int] = {"mmg": 51, "firetext": 49}

    # metrics
    statsd_host: str | None = None
    statsd_port: int = 8125

    @model_validator(mode="after")
    def _refuse_local_secrets_in_production(self) -> Self:
        if self.environment != "production":
            return self
        if self.uses_local_secrets:
            raise ValueError("SECRET_KEY or ADMIN_CLIENT_SECRET is still the local default; "
                             "set both to real secrets for production")
        return self

    @property
    def uses_local_secrets(self) -> bool:
        """Whether either secret is still the published local default."""
        return (self.secret_key.get_secret_value() == LOCAL_SECRET
                or self.admin_client_secret.get_secret_value() == LOCAL_ADMIN_SECRET)
