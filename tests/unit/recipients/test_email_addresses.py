"""Email address validation with Notify's rules."""

import pytest

from clarion.recipients.email import validate_email_address
from clarion.recipients.errors import InvalidEmailAddress, InvalidRecipient


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("someone@example.com", "someone@example.com"),
        ("  someone@example.com \n", "someone@example.com"),
        ("\u200bsomeone@example.com", "someone@example.com"),
        ("Some.One+tag@Example.GOV.uk", "Some.One+tag@example.gov.uk"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("a!#$%&'*+/=?^_`{|}~-@example.com", "a!#$%&'*+/=?^_`{|}~-@example.com"),
        ("user@sub-domain.example.co.uk", "user@sub-domain.example.co.uk"),
        ("user@münchen.de", "user@münchen.de"),
        ("user@xn--mnchen-3ya.de", "user@xn--mnchen-3ya.de"),
        ("user@example.xn--p1ai", "user@example.xn--p1ai"),
        ("simulate-delivered@notifications.service.gov.uk", "simulate-delivered@notifications.service.gov.uk"),
    ],
)
def test_valid_addresses_come_back_stripped_with_the_host_lower_cased(raw, expected):
    assert validate_email_address(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "plainaddress",
        "@example.com",
        "someone@",
        "someone@@example.com",
        "some one@example.com",
        "someone@exa mple.com",
        "someone@localhost",
        "someone@example",
        "someone@example.c",
        "someone@example.123",
        "someone@.example.com",
        "someone@example.com.",
        "someone@example..com",
        "some..one@example.com",
        "someone@-example.com",
        "someone@example-.com",
        "someone@exa_mple.com",
        "some(one)@example.com",
        "someone@[127.0.0.1]",
        "someone@" + "a" * 64 + ".com",
        "a" * 310 + "@example.com",
        "a" * 65 + "@example.com",
        "someone@" + ".".join(["abcdefghi"] * 26) + ".com",
        "someone@exa\u00e9\u0301mple.com\u0000",
    ],
)
def test_addresses_notify_would_refuse_are_invalid(raw):
    with pytest.raises(InvalidEmailAddress, match="^Not a valid email address$"):
        validate_email_address(raw)


def test_invalid_email_addresses_are_invalid_recipients():
    assert issubclass(InvalidEmailAddress, InvalidRecipient)
