"""Fake provider clients: no real provider exists yet, so these stand at the provider seam."""

from __future__ import annotations

from collections.abc import Callable

from clarion.providers.base import EmailClient, EmailMessage, SmsClient, SmsMessage


class FakeSms(SmsClient):
    """Records every text message; raises `error` (if set) or runs `during` inside the call."""

    def __init__(self, *, name: str = "mmg", error: Exception | None = None,
                 during: Callable[[SmsMessage], None] | None = None, **base: object) -> None:
        super().__init__(**base)  # type: ignore[arg-type]
        self._name, self.error, self.during = name, error, during
        self.sent: list[SmsMessage] = []

    @property
    def name(self) -> str:  # type: ignore[override]
        return self._name

    async def try_send_sms(self, message: SmsMessage) -> None:
        if self.during:
            self.during(message)
        if self.error:
            raise self.error
        self.sent.append(message)


class FakeEmail(EmailClient):
    """Records every email and answers with a provider reference."""

    name = "ses"

    def __init__(self, *, error: Exception | None = None, **base: object) -> None:
        super().__init__(**base)  # type: ignore[arg-type]
        self.error = error
        self.sent: list[EmailMessage] = []

    async def try_send_email(self, message: EmailMessage) -> str:
        if self.error:
            raise self.error
        self.sent.append(message)
        return f"ses-{len(self.sent)}"
