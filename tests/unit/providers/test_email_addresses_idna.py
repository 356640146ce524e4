"""Addresses reach SES and SMTP relays as ASCII: only the host is IDNA-encoded, as Notify does."""

from __future__ import annotations

import email.header

import pytest

from clarion.providers.email.addresses import UnencodableAddress, domain_of, idna_address, mailbox_header


@pytest.mark.parametrize(("address", "expected"), [
    ("someone@bücher.example", "someone@xn--bcher-kva.example"),
    ("someone@mañana.example.com", "someone@xn--maana-pta.example.com"),
    ("someone@例え.テスト", "someone@xn--r8jz45g.xn--zckzah"),
    ("some.one+tag@example.com", "some.one+tag@example.com"),
    ("UPPER@Example.COM", "UPPER@Example.COM"),  # an ASCII address is passed through untouched
])
def test_only_the_host_is_idna_encoded(address: str, expected: str) -> None:
    assert idna_address(address) == expected


@pytest.mark.parametrize(("address", "reason"), [
    ("no-at-sign.example.com", "local@host"),
    ("@bücher.example", "local@host"),
    ("someone@", "local@host"),
    ("sömeone@example.com", "local part is not ASCII"),
    ("someone@bad_host_ü.example", "not a valid internationalised domain name"),
])
def test_an_address_no_provider_can_take_is_refused_without_quoting_it(address: str, reason: str) -> None:
    with pytest.raises(UnencodableAddress, match=reason) as refused:
        idna_address(address)
    assert address not in str(refused.value)


def test_a_sender_keeps_its_display_name_with_the_host_encoded() -> None:
    assert mailbox_header('"Council Tax" <tax@bücher.example>') == "Council Tax <tax@xn--bcher-kva.example>"
    assert mailbox_header('"Tax, Benefits" <tax@example.com>') == '"Tax, Benefits" <tax@example.com>'
    assert mailbox_header("tax@example.com") == "tax@example.com"


def test_a_non_ascii_display_name_is_rfc2047_encoded_and_decodes_back() -> None:
    header = mailbox_header('"Gwasanaeth Ŵyn" <hysbysiad@example.com>')
    assert header.isascii()
    name, address = header.rsplit(" ", 1)
    assert str(email.header.make_header(email.header.decode_header(name))) == "Gwasanaeth Ŵyn"
    assert address == "<hysbysiad@example.com>"


def test_a_mailbox_without_an_address_is_refused() -> None:
    with pytest.raises(UnencodableAddress):
        mailbox_header('"Just a name" <')


def test_the_sending_domain_is_the_encoded_host_of_the_sender() -> None:
    assert domain_of('"Service" <hello@notifications.bücher.example>') == "notifications.xn--bcher-kva.example"
