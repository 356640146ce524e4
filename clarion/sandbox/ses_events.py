"""SES event notifications (the JSON string inside an SNS Message): Delivery, Bounce and Complaint.

Shapes follow AWS's "Amazon SES notification contents": `notificationType`, `mail` (whose `messageId`
is the MessageId SendEmail returned) and one of `delivery`, `bounce` or `complaint`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from clarion.sandbox.outcomes import Outcome
from clarion.sandbox.sns_signing import sns_timestamp

__all__ = ["ACCOUNT_ID", "SentEmail", "ses_event", "topic_arn"]

ACCOUNT_ID = "123456789012"  # AWS's documentation account
REPORTING_MTA = "a8-70.smtp-out.amazonses.com"
REMOTE_MTA_IP = "127.0.0.1"


def topic_arn(aws_region: str) -> str:
    """The SNS topic the sandbox's SES events come from (clarion accepts only topics in SNS_TOPIC_ARNS)."""
    return f"arn:aws:sns:{aws_region}:{ACCOUNT_ID}:clarion-sandbox-ses-events"


BOUNCES = {  # outcome -> (bounceType, bounceSubType, status, diagnosticCode)
    Outcome.PERMANENT_FAILURE: ("Permanent", "General", "5.1.1", "smtp; 550 5.1.1 user unknown"),
    Outcome.TEMPORARY_FAILURE: ("Transient", "MailboxFull", "4.2.2", "smtp; 452 4.2.2 mailbox full"),
}


@dataclass(frozen=True)
class SentEmail:
    """What SES remembers of an email it accepted."""

    message_id: str
    source: str
    destination: tuple[str, ...]
    subject: str
    sent_at: datetime
    region: str


def ses_event(email: SentEmail, notification_type: str, recipients: Sequence[str], *, outcome: Outcome,
              at: datetime) -> bytes:
    """The notification of type Delivery, Bounce or Complaint for `recipients` of `email`."""
    event: dict[str, Any] = {"notificationType": notification_type, "mail": _mail(email)}
    if notification_type == "Delivery":
        event["delivery"] = _delivery(email, recipients, at)
    elif notification_type == "Bounce":
        event["bounce"] = _bounce(recipients, outcome, at)
    else:
        event["complaint"] = _complaint(recipients, at)
    return orjson.dumps(event)


def _mail(email: SentEmail) -> dict[str, Any]:
    domain = email.source.rpartition("@")[2].rstrip(">")
    return {
        "timestamp": sns_timestamp(email.sent_at), "source": email.source,
        "sourceArn": f"arn:aws:ses:{email.region}:{ACCOUNT_ID}:identity/{domain}",
        "sourceIp": "127.0.0.1", "sendingAccountId": ACCOUNT_ID, "messageId": email.message_id,
        "destination": list(email.destination), "headersTruncated": False,
        "commonHeaders": {"from": [email.source], "to": list(email.destination), "subject": email.subject},
    }


def _delivery(email: SentEmail, recipients: Sequence[str], at: datetime) -> dict[str, Any]:
    return {"timestamp": sns_timestamp(at), "recipients": list(recipients),
            "processingTimeMillis": max(0, int((at - email.sent_at).total_seconds() * 1000)),
            "reportingMTA": REPORTING_MTA, "smtpResponse": "250 2.6.0 Message received",
            "remoteMtaIp": REMOTE_MTA_IP}


def _bounce(recipients: Sequence[str], outcome: Outcome, at: datetime) -> dict[str, Any]:
    bounce_type, sub_type, status, diagnostic = BOUNCES[outcome]
    return {"bounceType": bounce_type, "bounceSubType": sub_type, "timestamp": sns_timestamp(at),
            "feedbackId": _feedback_id(), "reportingMTA": f"dsn; {REPORTING_MTA}", "remoteMtaIp": REMOTE_MTA_IP,
            "bouncedRecipients": [{"emailAddress": address, "action": "failed", "status": status,
                                   "diagnosticCode": diagnostic} for address in recipients]}


def _complaint(recipients: Sequence[str], at: datetime) -> dict[str, Any]:
    return {"timestamp": sns_timestamp(at), "feedbackId": _feedback_id(), "complaintSubType": None,
            "complaintFeedbackType": "abuse", "userAgent": "clarion-sandbox-mailbox",
            "arrivalDate": sns_timestamp(at),
            "complainedRecipients": [{"emailAddress": address} for address in recipients]}


def _feedback_id() -> str:
    return f"0102{uuid.uuid4().hex[:12]}-{uuid.uuid4()}-000000"
