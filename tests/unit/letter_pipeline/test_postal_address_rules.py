"""Postal addresses are read and refused with Notify's rules: the postcode, country and BFPO lines,
the postage zone, and a reason code and API message for every address that cannot be posted."""

from __future__ import annotations

import pytest

from clarion.recipients.countries import find_country
from clarion.recipients.postal_address import address_problem, format_postcode, parse_address


@pytest.mark.parametrize(("raw", "printed"), [
    (["Ann Example", "1 High Street", "sw1a1aa"], ("Ann Example", "1 High Street", "SW1A 1AA")),
    (["  Ann   Example ", "", "1 High Street ,", "London", "SW1A 1AA"],
     ("Ann Example", "1 High Street", "London", "SW1A 1AA")),
    (["Ann", "1 High Street , Flat 2", "SW1A 1AA", "England", "UK"], ("Ann", "1 High Street, Flat 2", "SW1A 1AA")),
    (["Sgt A Person", "Unit 7", "bfpo 123"], ("Sgt A Person", "Unit 7", "BFPO 123")),
    (["Sgt A Person", "BFPO 801", "Unit 7", "BF1 4FB"], ("Sgt A Person", "Unit 7", "BF1 4FB", "BFPO 801")),
    (["Jean Dupont", "1 Rue de Rivoli", "75001 Paris", "FRANCE"], ("Jean Dupont", "1 Rue de Rivoli", "75001 Paris",
                                                                  "France")),
    (["Kofi", "PO Box 1", "Abidjan", "Côte d’Ivoire"], ("Kofi", "PO Box 1", "Abidjan", "Ivory Coast")),
])
def test_an_address_is_tidied_and_printed_the_way_notify_prints_it(raw: list[str], printed: tuple[str, ...]) -> None:
    assert parse_address(raw).lines == printed


@pytest.mark.parametrize(("last_line", "zone"), [
    ("SW1A 1AA", "united-kingdom"), ("Scotland", "united-kingdom"), ("Germany", "europe"),
    ("the netherlands", "europe"), ("United States of America", "rest-of-world"), ("Japan", "rest-of-world"),
])
def test_the_last_line_sets_the_postage_zone(last_line: str, zone: str) -> None:
    address = parse_address(["Someone", "Somewhere", "A town", last_line])
    assert address.postage_zone == zone
    assert address.international is (zone != "united-kingdom")


@pytest.mark.parametrize(("lines", "international", "reason", "message"), [
    ([], False, "address-is-empty", "Address must be at least 3 lines"),
    (["Ann", "SW1A 1AA"], False, "not-enough-address-lines", "Address must be at least 3 lines"),
    (["Ann", "Flat 1", "2", "3", "4", "5", "6", "SW1A 1AA"], False, "too-many-address-lines",
     "Address must be no more than 7 lines"),
    (["Sgt A", "Unit 7", "BFPO 123", "France"], True, "has-country-for-bfpo-address",
     "The last line of a BFPO address must not be a country."),
    (["Ann", "1 High Street", "Not a postcode"], False, "not-a-real-uk-postcode", "Must be a real UK postcode"),
    (["Ann", "1 High Street", "QQ1 1AA"], False, "not-a-real-uk-postcode", "Must be a real UK postcode"),
    (["Ann", "1 High Street", "SW1A 1AC"], False, "not-a-real-uk-postcode", "Must be a real UK postcode"),
    (["Ann", "1 Rue de Rivoli", "France"], False, "cant-send-international-letters", "Must be a real UK postcode"),
    (["Ann", "1 High Street", "Atlantis"], True, "not-a-real-uk-postcode-or-country",
     "Last line of address must be a real UK postcode or another country"),
    (["@Ann", "1 High Street", "SW1A 1AA"], False, "invalid-char-in-address",
     "Address lines must not start with any of the following characters: @ ( ) = [ ] ” \\ / , < >"),
    (["Ann", "NFA", "SW1A 1AA"], False, "no-fixed-abode-address", "Must be a real address"),
    (["Ann", "No Fixed Abode", "SW1A 1AA"], False, "no-fixed-abode-address", "Must be a real address"),
])
def test_an_address_that_cannot_be_posted_says_why(lines: list[str], international: bool, reason: str,
                                                   message: str) -> None:
    problem = address_problem(parse_address(lines), allow_international=international)
    assert problem is not None
    assert (problem.reason, problem.message) == (reason, message)


@pytest.mark.parametrize("lines", [
    ["Ann", "1 High Street", "SW1A 1AA"],
    ["Sgt A", "Unit 7", "BFPO 123"],
    ["Ann", "10 Downing Street", "London", "SW1A 2AA", "United Kingdom"],
])
def test_a_good_uk_address_has_no_problem(lines: list[str]) -> None:
    assert address_problem(parse_address(lines), allow_international=False) is None


def test_an_address_abroad_is_fine_with_the_permission() -> None:
    address = parse_address(["Ann", "1 Rue de Rivoli", "Paris", "France"])
    assert address_problem(address, allow_international=True) is None


@pytest.mark.parametrize(("text", "formatted"), [
    ("sw1a1aa", "SW1A 1AA"), (" EC1A 1BB ", "EC1A 1BB"), ("m11ae", "M1 1AE"), ("BT1 1AA", "BT1 1AA"),
    ("SW1A", None), ("12345", None), ("ZZ1 1AA", None),
])
def test_a_postcode_is_recognised_and_formatted_for_sorting(text: str, formatted: str | None) -> None:
    assert format_postcode(text) == formatted


def test_countries_match_whatever_their_case_accents_and_punctuation() -> None:
    assert find_country("SÃO TOMÉ AND PRÍNCIPE") == find_country("Sao Tome & Principe")
    assert find_country("U.S.A.") == find_country("United States")
    assert find_country("Middle-earth") is None
