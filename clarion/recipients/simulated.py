"""Simulated recipients: accepted by the API but never stored, queued or sent (Notify's behaviour)."""

from __future__ import annotations

__all__ = ["SIMULATED_EMAIL_ADDRESSES", "SIMULATED_SMS_NUMBERS", "is_simulated"]

# Normalised forms: E.164 without "+" for numbers, lower case for addresses.
SIMULATED_SMS_NUMBERS = ("447700900000", "447700900111", "447700900222")
SIMULATED_EMAIL_ADDRESSES = (
    "simulate-delivered@notifications.service.gov.uk",
    "simulate-delivered-2@notifications.service.gov.uk",
    "simulate-delivered-3@notifications.service.gov.uk",
)


def is_simulated(notification_type: str, normalised_to: str) -> bool:
    """Whether a normalised recipient of this notification type is a simulated one."""
    if notification_type == "sms":
        return normalised_to.lstrip("+") in SIMULATED_SMS_NUMBERS
    if notification_type == "email":
        return normalised_to.strip().lower() in SIMULATED_EMAIL_ADDRESSES
    return False
