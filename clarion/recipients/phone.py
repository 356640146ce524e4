"""Mobile number validation and normalisation to E.164 without the leading +.

UK numbers are recognised and checked the way Notify does it (a leading 0, a 44 prefix, or ten
digits starting 7), without asking `phonenumbers` whether the number is allocated: Ofcom's drama
range 07700 900xxx is not, yet Notify's simulated numbers and most test data live there. Other
numbers go through `phonenumbers` for their country code and length.

Crown dependencies (Guernsey, Jersey, Isle of Man) share the 44 prefix but are not UK networks; as
in Notify they are `international=True` with `crown_dependency=True`, so sending to them needs the
international permission, and they are billed at the 44 rate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import phonenumbers

from clarion.recipients.errors import InvalidPhoneNumber

__all__ = ["DEFAULT_RATE_MULTIPLIER", "RATE_MULTIPLIERS", "PhoneNumber", "validate_phone_number"]

UK_PREFIX = "44"
CROWN_DEPENDENCY_REGIONS = frozenset({"GG", "JE", "IM"})
ALLOWED_SYMBOLS = frozenset("()+-")
INVISIBLE_CHARACTERS = frozenset("\u180e\u200b\u200c\u200d\u2060\ufeff")

# Billable units per message by country code, from Notify's international_billing_rates.yml, for
# the countries UK services text most. Codes not listed cost DEFAULT_RATE_MULTIPLIER, the value
# that file uses where the provider's sheet gave none.
RATE_MULTIPLIERS: Mapping[str, float] = {
    "1": 1.0, "7": 4.0, "20": 3.0, "27": 2.0, "30": 2.0, "31": 3.0, "32": 3.0, "33": 2.0, "34": 2.0,
    "39": 2.0, "41": 2.0, "43": 3.0, "44": 1.0, "45": 2.0, "46": 2.0, "47": 3.0, "48": 2.0, "49": 4.0,
    "61": 2.0, "64": 3.0, "81": 3.0, "86": 2.0, "91": 3.0, "92": 2.0, "350": 2.0, "351": 2.0,
    "352": 2.0, "353": 3.0, "358": 3.0, "359": 4.0, "370": 2.0, "371": 2.0, "372": 2.0, "420": 4.0,
}
DEFAULT_RATE_MULTIPLIER = 4.0

NOT_UK_MOBILE = "Not a UK mobile number"
TOO_LONG = "Mobile number is too long"
TOO_SHORT = "Mobile number is too short"
UNKNOWN_CHARACTER = "Mobile numbers can only include: 0 1 2 3 4 5 6 7 8 9 ( ) + -"
BAD_COUNTRY_PREFIX = "Not a valid country prefix"
WRONG_LENGTH_FOR_COUNTRY = "Mobile number has the wrong number of digits for its country"


@dataclass(frozen=True)
class PhoneNumber:
    """A valid mobile number and what sending to it involves."""

    normalised: str  # E.164 without "+", e.g. "447700900123"
    international: bool
    prefix: str  # country calling code, e.g. "44"
    rate_multiplier: float
    crown_dependency: bool = False


_IGNORED = ALLOWED_SYMBOLS | INVISIBLE_CHARACTERS


def _digits(raw: str) -> str:
    kept = [char for char in raw if not char.isspace() and char not in _IGNORED]
    digits = "".join(kept)
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidPhoneNumber(TOO_SHORT if not digits else UNKNOWN_CHARACTER)
    return digits


def _looks_like_uk(digits: str) -> bool:
    # Notify's rule: 07..., 44..., or ten digits starting 7 (a UK number missing its 0).
    significant = digits.lstrip("0")
    return ((digits.startswith("0") and not digits.startswith("00")) or significant.startswith(UK_PREFIX)
            or (significant.startswith("7") and len(significant) < 11))


NUMBER_TYPES = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number", "voip",
                "pager", "uan", "voicemail")


def _crown_dependency_ranges() -> re.Pattern[str]:
    # Every range of every number type of Guernsey, Jersey and the Isle of Man, and the leading digits
    # that alone decide a region, from phonenumbers' own metadata: phonenumbers puts a number in one of
    # these regions only if one of them matches.
    patterns = []
    for region in sorted(CROWN_DEPENDENCY_REGIONS):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        descriptions = (getattr(metadata, number_type) for number_type in NUMBER_TYPES)
        patterns += [d.national_number_pattern for d in descriptions if d is not None and d.national_number_pattern]
        if metadata.leading_digits:
            patterns.append(f"(?:{metadata.leading_digits})\\d*")
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns))


CROWN_DEPENDENCY_RANGES = _crown_dependency_ranges()


def _is_crown_dependency(national: str) -> bool:
    # A regex rules out almost every number cheaply; asking phonenumbers for the region of each one
    # costs ~50 us, a real share of the API's CPU per text. Where a number is in a crown dependency's
    # range, phonenumbers decides, since some ranges are also the UK's and the UK then wins.
    if CROWN_DEPENDENCY_RANGES.fullmatch(national) is None:
        return False
    number = phonenumbers.PhoneNumber(country_code=int(UK_PREFIX), national_number=int(national))
    return phonenumbers.region_code_for_number(number) in CROWN_DEPENDENCY_REGIONS


def _uk_number(digits: str) -> PhoneNumber:
    national = digits.lstrip("0")
    if national.startswith(UK_PREFIX):
        national = national[len(UK_PREFIX):].lstrip("0")  # +44 (0)7700 ...
    if not national.startswith("7"):
        raise InvalidPhoneNumber(NOT_UK_MOBILE)
    if len(national) > 10:
        raise InvalidPhoneNumber(TOO_LONG)
    if len(national) < 10:
        raise InvalidPhoneNumber(TOO_SHORT)
    normalised = UK_PREFIX + national
    crown = _is_crown_dependency(national)
    return PhoneNumber(normalised, international=crown, prefix=UK_PREFIX,
                       rate_multiplier=RATE_MULTIPLIERS[UK_PREFIX], crown_dependency=crown)


_POSSIBILITY_ERRORS = {
    phonenumbers.ValidationResult.TOO_SHORT: TOO_SHORT,
    phonenumbers.ValidationResult.TOO_LONG: TOO_LONG,
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: BAD_COUNTRY_PREFIX,
    phonenumbers.ValidationResult.INVALID_LENGTH: WRONG_LENGTH_FOR_COUNTRY,
    phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: TOO_SHORT,
}


def _international_number(digits: str) -> PhoneNumber:
    number = digits.lstrip("0")  # 00 is the international dialling prefix
    if len(number) < 8:
        raise InvalidPhoneNumber(TOO_SHORT)
    if len(number) > 15:
        raise InvalidPhoneNumber(TOO_LONG)
    try:
        parsed = phonenumbers.parse("+" + number)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhoneNumber(BAD_COUNTRY_PREFIX) from error
    # Only the length is checked: carriers open new ranges faster than the metadata learns them.
    problem = _POSSIBILITY_ERRORS.get(phonenumbers.is_possible_number_with_reason(parsed))
    if problem:
        raise InvalidPhoneNumber(problem)
    prefix = str(parsed.country_code)
    normalised = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
    return PhoneNumber(normalised, international=True, prefix=prefix,
                       rate_multiplier=RATE_MULTIPLIERS.get(prefix, DEFAULT_RATE_MULTIPLIER))


def validate_phone_number(raw: str) -> PhoneNumber:
    """The number normalised, or InvalidPhoneNumber saying what to fix."""
    digits = _digits(raw)
    return _uk_number(digits) if _looks_like_uk(digits) else _international_number(digits)
