"""Postal addresses with Notify's rules: the lines tidied, the postcode, country or BFPO number read
from the end, and what is wrong with an address that cannot be posted.

A template letter's address comes from personalisation and is refused at the API with Notify's
message; a precompiled letter's address is read from its PDF and refused later, as
`validation-failed` with Notify's reason code. `AddressProblem` carries both.

  reason                               API message
  address-is-empty / not-enough-...    Address must be at least 3 lines
  too-many-address-lines               Address must be no more than 7 lines
  has-country-for-bfpo-address         The last line of a BFPO address must not be a country.
  not-a-real-uk-postcode(-or-country)  Must be a real UK postcode / Last line of address must be a
  cant-send-international-letters        real UK postcode or another country
  invalid-char-in-address              Address lines must not start with any of the following ...
  no-fixed-abode-address               Must be a real address

International addresses (the last line names a country other than the UK) need the service's
`international_letters` permission, and go in the country's postage zone: `europe` or `rest-of-world`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from clarion.recipients.countries import UNITED_KINGDOM, Country, find_country

__all__ = ["MAX_LINES", "MIN_LINES", "AddressProblem", "PostalAddress", "address_problem", "parse_address"]

MIN_LINES = 3
MAX_LINES = 7
INVALID_FIRST_CHARACTERS = '@()=[]"\\/,<>~'
INVALID_CHARACTERS_MESSAGE = ("Address lines must not start with any of the following characters: "
                              "@ ( ) = [ ] ” \\ / , < >")
# Royal Mail's UK postcode areas, and the letters an inward code may end with (never C, I, K, M, O or V).
UK_POSTCODE_AREAS = (
    "AB AL B BA BB BD BF BH BL BN BR BS BT BX CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY E EC EH EN EX "
    "FK FY G GIR GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL LN LS LU M ME MK ML N NE "
    "NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS "
    "TW UB W WA WC WD WF WN WR WS WV YO ZE"
).split()
_POSTCODE = re.compile(rf"({'|'.join(UK_POSTCODE_AREAS)})[0-9][0-9A-Z]?[0-9][ABD-HJLNP-UW-Z]{{2}}")
_BFPO = re.compile(r"bfpo\s*(?:c/o)?(?:\s*(\d+))?")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([,.;:!?])")
_NO_FIXED_ABODE = re.compile(r"no fixed (abode|address)", re.IGNORECASE)
UK = Country("United Kingdom", UNITED_KINGDOM)


@dataclass(frozen=True)
class AddressProblem:
    """Why an address cannot be posted: Notify's reason code (precompiled) and API message."""

    reason: str
    message: str


@dataclass(frozen=True)
class PostalAddress:
    """An address read the way Notify reads it."""

    body: tuple[str, ...]  # the lines without the country and BFPO lines
    country: Country  # the United Kingdom unless the last line names another country
    bfpo_number: int | None

    @property
    def international(self) -> bool:
        """Whether it goes abroad."""
        return not self.country.is_uk

    @property
    def postage_zone(self) -> str:
        """united-kingdom, europe or rest-of-world."""
        return self.country.postage_zone

    @property
    def postcode(self) -> str | None:
        """The UK postcode on the last line, formatted for Royal Mail's sorting; None if there is none."""
        if self.international or not self.body:
            return None
        return format_postcode(self.body[-1])

    @property
    def lines(self) -> tuple[str, ...]:
        """The lines as they are printed: postcode formatted, country named canonically, BFPO last."""
        bfpo = (f"BFPO {self.bfpo_number}",) if self.bfpo_number is not None else ()
        if self.international:
            return (*self.body, *bfpo, self.country.name)
        postcode = self.postcode
        if postcode:
            return (*self.body[:-1], postcode, *bfpo)
        return (*self.body, *bfpo)


def parse_address(raw_lines: Sequence[str]) -> PostalAddress:
    """The address these lines spell, tidied: spacing normalised, trailing commas and blank lines gone."""
    lines = [tidied for line in raw_lines if (tidied := _tidy(line))]
    bfpo_number, lines = _split_bfpo(lines)
    country = find_country(lines[-1]) if lines else None
    if country is None:
        return PostalAddress(tuple(lines), UK, bfpo_number)
    trailing_uk = 0
    for line in reversed(lines):  # "...\nEngland\nUK": every trailing UK name goes
        named = find_country(line)
        if named is None or not named.is_uk:
            break
        trailing_uk += 1
    return PostalAddress(tuple(lines[:-(trailing_uk or 1)]), country, bfpo_number)


def address_problem(address: PostalAddress, *, allow_international: bool) -> AddressProblem | None:
    """What stops the address being posted (in Notify's order of checks), or None."""
    count = len(address.lines)
    if count == 0:
        return AddressProblem("address-is-empty", f"Address must be at least {MIN_LINES} lines")
    if count < MIN_LINES:
        return AddressProblem("not-enough-address-lines", f"Address must be at least {MIN_LINES} lines")
    if count > MAX_LINES:
        return AddressProblem("too-many-address-lines", f"Address must be no more than {MAX_LINES} lines")
    if address.bfpo_number is not None and address.international:
        return AddressProblem("has-country-for-bfpo-address", "The last line of a BFPO address must not be a country.")
    problem = _last_line_problem(address, allow_international)
    if problem is not None:
        return problem
    if any(line.startswith(tuple(INVALID_FIRST_CHARACTERS)) for line in address.lines):
        return AddressProblem("invalid-char-in-address", INVALID_CHARACTERS_MESSAGE)
    if any(line.lower() == "nfa" for line in address.lines) or _NO_FIXED_ABODE.search("\n".join(address.lines)):
        return AddressProblem("no-fixed-abode-address", "Must be a real address")
    return None


def _last_line_problem(address: PostalAddress, allow_international: bool) -> AddressProblem | None:
    if address.bfpo_number is not None or address.postcode is not None:
        return None
    if address.international and allow_international:
        return None
    if allow_international:
        return AddressProblem("not-a-real-uk-postcode-or-country",
                              "Last line of address must be a real UK postcode or another country")
    if address.international:
        return AddressProblem("cant-send-international-letters", "Must be a real UK postcode")
    return AddressProblem("not-a-real-uk-postcode", "Must be a real UK postcode")


def format_postcode(text: str) -> str | None:
    """A real UK postcode in capitals with one space before the inward code; None if it is not one."""
    compact = "".join(text.split()).upper()
    if not _POSTCODE.fullmatch(compact):
        return None
    return f"{compact[:-3]} {compact[-3:]}"


def _tidy(line: str) -> str:
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", " ".join(str(line).split())).rstrip(" ,")


def _split_bfpo(lines: list[str]) -> tuple[int | None, list[str]]:
    matches = [_BFPO.fullmatch(line.lower().strip()) for line in lines]
    for match in matches:
        if match and match.group(1):
            return int(match.group(1)), [line for line, other in zip(lines, matches, strict=True) if not other]
    return None, lines
