"""Simulated recipients are recognised in their normalised forms."""

import pytest

from clarion.recipients.email import validate_email_address
from clarion.recipients.phone import validate_phone_number
from clarion.recipients.simulated import SIMULATED_EMAIL_ADDRESSES, SIMULATED_SMS_NUMBERS, is_simulated


@pytest.mark.parametrize(
    ("notification_type", "to", "simulated"),
    [
        ("sms", "447700900000", True),
        ("sms", "447700900111", True),
        ("sms", "447700900222", True),
        ("sms", "+447700900000", True),
        ("sms", "447700900123", False),
        ("email", "simulate-delivered@notifications.service.gov.uk", True),
        ("email", "simulate-delivered-2@notifications.service.gov.uk", True),
        ("email", "Simulate-Delivered-3@notifications.service.gov.uk", True),
        ("email", "someone@notifications.service.gov.uk", False),
        ("email", "447700900000", False),
        ("sms", "simulate-delivered@notifications.service.gov.uk", False),
        ("letter", "447700900000", False),
    ],
)
def test_is_simulated(notification_type, to, simulated):
    assert is_simulated(notification_type, to) is simulated


@pytest.mark.parametrize("number", SIMULATED_SMS_NUMBERS)
def test_simulated_numbers_are_valid_uk_mobiles_in_normalised_form(number):
    assert validate_phone_number("0" + number[2:]).normalised == number


@pytest.mark.parametrize("address", SIMULATED_EMAIL_ADDRESSES)
def test_simulated_addresses_are_valid_in_normalised_form(address):
    assert validate_email_address(address) == address
