"""Email provider clients: AWS SES (API v2) and a plain SMTP relay, both behind `EmailClient`."""

from clarion.providers.email.ses import SesClient, ses_client_from_settings
from clarion.providers.email.smtp import SmtpClient, smtp_client_from_settings

__all__ = ["SesClient", "SmtpClient", "ses_client_from_settings", "smtp_client_from_settings"]
