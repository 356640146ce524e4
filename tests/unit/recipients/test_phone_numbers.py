"""Mobile number validation: UK formats, international numbers and what each error says."""

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clarion.recipients import phone
from clarion.recipients.errors import InvalidPhoneNumber, InvalidRecipient
from clarion.recipients.phone import DEFAULT_RATE_MULTIPLIER, PhoneNumber, validate_phone_number


@pytest.mark.parametrize(
    "raw",
    [
        "07700900123",
        "07700 900123",
        "07700 900 123",
        "+447700900123",
        "+44 7700 900123",
        "+44 (0)7700 900123",
        "(0)7700 900123",
        "447700900123",
        "0044 7700 900123",
        "7700900123",
        "07700-900-123",
        " 07700 900123 ",
        "07700\u00a0900123",
        "\u200b07700900123",
    ],
)
def test_uk_mobile_numbers_in_any_common_format_normalise_to_e164_without_plus(raw):
    assert validate_phone_number(raw) == PhoneNumber("447700900123", international=False, prefix="44",
                                                     rate_multiplier=1.0)


@pytest.mark.parametrize("raw", ["+447700900000", "07700 900111", "447700900222", "07700900999"])
def test_the_ofcom_drama_range_counts_as_a_uk_mobile(raw):
    number = validate_phone_number(raw)
    assert number.international is False and number.normalised.startswith("447700900")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("020 7946 0000", "Not a UK mobile number"),
        ("+44 1632 960000", "Not a UK mobile number"),
        ("0800 123 4567", "Not a UK mobile number"),
        ("077009001234", "Mobile number is too long"),
        ("+44 7700 9001234", "Mobile number is too long"),
        ("0770090012", "Mobile number is too short"),
        ("07700 90012", "Mobile number is too short"),
        ("07700 900abc", "Mobile numbers can only include: 0 1 2 3 4 5 6 7 8 9 ( ) + -"),
        ("07700.900.123", "Mobile numbers can only include: 0 1 2 3 4 5 6 7 8 9 ( ) + -"),
        ("０７７００９００１２３", "Mobile numbers can only include: 0 1 2 3 4 5 6 7 8 9 ( ) + -"),
        ("", "Mobile number is too short"),
        ("+()", "Mobile number is too short"),
        ("+999 1234 5678", "Not a valid country prefix"),
        ("+33 12", "Mobile number is too short"),
        ("+1 202 555 0123 4567", "Mobile number is too long"),
        ("+1 202 555 012345", "Mobile number is too long"),
        ("+1234567890123456", "Mobile number is too long"),
    ],
)
def test_invalid_numbers_say_what_to_fix(raw, message):
    with pytest.raises(InvalidPhoneNumber) as error:
        validate_phone_number(raw)
    assert str(error.value) == message


def test_invalid_phone_numbers_are_invalid_recipients():
    assert issubclass(InvalidPhoneNumber, InvalidRecipient)


@pytest.mark.parametrize(
    ("raw", "normalised", "prefix", "rate_multiplier"),
    [
        ("+1 202 555 0123", "12025550123", "1", 1.0),
        ("0033 6 12 34 56 78", "33612345678", "33", 2.0),
        ("+33 (0)6 12 34 56 78", "33612345678", "33", 2.0),
        ("+49 1512 3456789", "4915123456789", "49", 4.0),
        ("+353 85 123 4567", "353851234567", "353", 3.0),
        ("+7 912 345 67 89", "79123456789", "7", 4.0),
        ("+61 412 345 678", "61412345678", "61", 2.0),
        ("+234 803 123 4567", "2348031234567", "234", DEFAULT_RATE_MULTIPLIER),
    ],
)
def test_international_numbers_carry_their_country_prefix_and_rate(raw, normalised, prefix, rate_multiplier):
    assert validate_phone_number(raw) == PhoneNumber(normalised, international=True, prefix=prefix,
                                                     rate_multiplier=rate_multiplier)


@pytest.mark.parametrize("raw", ["07781 123456", "+44 7797 123456", "07624 123456"])
def test_crown_dependency_numbers_are_international_at_the_uk_rate(raw):
    number = validate_phone_number(raw)
    assert (number.international, number.crown_dependency, number.prefix, number.rate_multiplier) == (
        True, True, "44", 1.0)


def test_every_listed_rate_multiplier_is_positive():
    assert all(rate > 0 for rate in phone.RATE_MULTIPLIERS.values())


@given(st.integers(min_value=0, max_value=999_999_999))
def test_every_uk_mobile_written_nationally_or_internationally_normalises_the_same(n):
    national = f"07{n:09d}"
    number = validate_phone_number(national)
    assert number.normalised == f"447{n:09d}"
    assert validate_phone_number(f"+44 {national[1:]}") == number


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
@settings(max_examples=2000, deadline=None)
def test_crown_dependency_numbers_are_the_ones_phonenumbers_places_outside_the_uk(rest: str) -> None:
    national = "7" + rest
    region = phonenumbers.region_code_for_number(phonenumbers.parse("+44" + national))
    assert validate_phone_number("0" + national).crown_dependency == (region in {"GG", "JE", "IM"})
