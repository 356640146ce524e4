"""One Settings object, built once from environment variables at the edge (cli.py).

Every setting has a default that suits `clarion up` on one machine. Nothing else in clarion reads
`os.environ`; components receive only the values they need.
"""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
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

    # --- routing (issue 4): design.md §5; the defaults are the blog post's, clarion/routing/rules.py has Notify's ---
    # Email priorities are an order (highest first); faults move them like SMS weights, and tend-back
    # moves them back to these.
    email_provider_resting_points: dict[str, int] = {"ses": 10, "smtp": 5}
    provider_step_points: int = Field(10, ge=1, le=100)  # points moved by one change
    provider_fault_threshold: int = Field(1, ge=1)  # faults (5xx, timeout, connection error) within the window that move weight
    provider_fault_window_s: int = Field(60, ge=1)
    provider_fault_guard_s: int = Field(60, ge=0)  # a fault moves no weight within this long of any change of the channel
    sms_slow_check_interval_s: float = Field(60, gt=0)  # how often the slow-delivery check runs
    sms_slow_window_s: int = Field(600, ge=1)  # texts sent within this long are judged ...
    sms_slow_after_s: int = Field(240, ge=1)  # ... slow when not delivered within this long ...
    sms_slow_ratio: float = Field(0.3, gt=0, le=1)  # ... and a provider is slow when at least this share of them is
    sms_slow_guard_s: int = Field(60, ge=0)
    provider_tend_back_interval_s: float = Field(300, gt=0)  # how often tend-back runs ...
    provider_tend_back_quiet_s: int = Field(3600, ge=0)  # ... and acts once no weight changed for this long
    # "any-change": every change starts the quiet spell again, tend-back's own steps included (design.md
    # §5, the blog): one step per spell. "move-away": only faults, slowness and operators do, so once
    # quiet, tend-back steps every interval back to the resting points.
    provider_tend_back_quiet_since: Literal["any-change", "move-away"] = "any-change"
    routing_cache_ttl_s: float = Field(2.0, ge=0)  # how long a process routes by weights it read (Notify: 10 s)

    # --- providers: HTTP clients (issue 3) ---
    provider_timeout_s: float = 10.0  # Notify's MMG/Firetext timeout
    provider_connections: int = 200  # pooled connections per provider per worker process
    ses_endpoint_url: str | None = None  # SESv2 endpoint; None = AWS; `clarion up` points it at the sandbox
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None
    smtp_host: str | None = None  # a second email provider, "smtp", when set
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_connections: int = 10  # pooled relay connections (and threads) per worker process
    smtp_ca_file: str | None = None  # PEM CAs trusted for the relay's certificate instead of the system's
    # Basic-auth credentials clarion puts into its receipt URLs (user, password); the password must
    # also be in MMG_INBOUND_SMS_AUTH / FIRETEXT_INBOUND_SMS_AUTH for the receipt endpoint to accept it.
    receipt_basic_auth_user: str = "notify"

    # --- receipts (issue 3) ---
    # An SNS message's SigningCertURL must start with one of these; `clarion up` adds the sandbox's.
    sns_signing_cert_url_prefixes: list[str] = ["https://sns.eu-west-1.amazonaws.com/",
                                                "https://sns.eu-west-2.amazonaws.com/"]
    # The SNS topics SES receipts may come from (exact ARNs, a JSON list). Any AWS account can make a
    # topic SNS signs for, so a message from another topic is refused; empty refuses every SES receipt.
    # `clarion up` sets it to the sandbox's topic.
    sns_topic_arns: list[str] = []
    ses_unknown_reference_retry_s: int = 300  # an SES receipt for an unknown reference is retried this long

    # --- sandbox (issue 3) ---
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = 6300
    sandbox_smtp_port: int = 6325
    sandbox_receipt_delay_s: float = 5.0
    # SNS signatures on the sandbox's SES events: "1" (SHA1withRSA, AWS's default) or "2" (SHA256withRSA).
    sandbox_sns_signature_version: Literal["1", "2"] = "1"

    # --- letters (issue 5) ---
    letters_storage: Literal["local", "s3"] = "local"
    letters_folder: Path = DATA_DIR / "letters"  # local storage: one sub-folder per bucket name
    letters_scan_bucket_name: str = "clarion-letters-scan"  # precompiled PDFs waiting for the virus scan
    letters_pdf_bucket_name: str = "clarion-letters-pdf"  # letters ready to print (and for GET .../pdf)
    s3_endpoint_url: str | None = None  # an S3-compatible server; None = AWS in AWS_REGION
    clamd_socket: str | None = None  # clamd's unix socket path; with CLAMD_ADDRESS also unset, nothing is scanned
    clamd_address: str | None = None  # "host:port" of clamd's TCP socket, when not a unix socket
    clamd_timeout_s: float = 60.0
    letter_max_pages: int = 10  # Notify's LETTER_MAX_PAGE_COUNT: longer letters are validation-failed
    letter_font_path: Path | None = None  # a TrueType font for letters; None = the Vera font reportlab ships
    letter_bold_font_path: Path | None = None
    # DVLA: Notify reads these three from AWS SSM Parameter Store; clarion takes them from settings.
    # The defaults are the sandbox DVLA's, so `clarion up` works with no configuration.
    dvla_username: SecretStr = SecretStr("clarion-sandbox")
    dvla_password: SecretStr = SecretStr("clarion-sandbox-password")
    dvla_api_key: SecretStr = SecretStr("clarion-sandbox-api-key")
    dvla_timeout_s: float = 30.0  # a print job carries the whole PDF, so more room than an SMS
    # When letters go to DVLA: "as_ready" (each one once it is rendered or checked; `clarion up` shows a letter
    # within seconds) or "daily": everything made before LETTERS_CUTOFF_TIME (UK time, as Notify's 17:30) after it.
    letters_send_mode: Literal["as_ready", "daily"] = "as_ready"
    letters_cutoff_time: time = time(17, 30)
    letter_sending_timeout_s: int = 7 * 24 * 3600  # a letter DVLA never reported on → technical-failure
    # Threads per batch that read letter PDFs from the PDF store while their print jobs are posted.
    letter_pdf_readers: int = 8  # below 1 counts as 1

    # metrics
    worker_metrics_port: int | None = None  # a worker's Prometheus /metrics on 127.0.0.1 (provider requests)
    statsd_host: str | None = None
    statsd_port: int = 8125

    @field_validator("sms_provider_resting_points", "email_provider_resting_points")
    @classmethod
    def _points_between_0_and_100(cls, points: dict[str, int]) -> dict[str, int]:
        wrong = {name: value for name, value in points.items() if not 0 <= value <= 100}
        if wrong:
            raise ValueError(f"resting points must be between 0 and 100: {wrong}")
        return points

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
