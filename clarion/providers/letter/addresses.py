"""The `address` object of a DVLA print job, in one of its three shapes, with DVLA's length limits.

The input is the letter's normalised address lines as intake stored them, recipient first:
- `bfpoAddress` when a line reads "BFPO <number>": `line1..line4` (line 1 is still the recipient,
  as DVLA asks for service number, rank and name there; a fifth line has no place and is dropped),
  `postcode` when the line before the BFPO line is a postcode, and `bfpoNumber`;
- `internationalAddress` for `europe` / `rest-of-world` postage: `line1..line5` and `country`
  (the last line);
- `unstructuredAddress` otherwise: `line1..line5` and `postcode` (the last line).
In the last two the recipient goes only into `recipientName`, so `line1` is the first line after it.
DVLA refuses longer values, so they are cut: postcode 10 characters, country 256, every other line
45, the recipient name 255.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from clarion.providers.letter.despatch import INTERNATIONAL_POSTAGE

__all__ = ["InvalidPrintAddress", "MAX_LENGTHS", "print_address"]

MAX_LENGTHS = {"postcode": 10, "country": 256}
LINE_MAX_LENGTH = 45
RECIPIENT_MAX_LENGTH = 255
LINE_KEYS = ("line1", "line2", "line3", "line4", "line5")
BFPO_LINE_KEYS = LINE_KEYS[:4]

_BFPO_LINE = re.compile(r"\s*bfpo\s*(?:c/o)?\s*(\d+)\s*", re.IGNORECASE)
_UK_POSTCODE = re.compile(r"[A-Z]{1,2}[0-9][0-9A-Z]?\s?[0-9][A-Z]{2}")


class InvalidPrintAddress(ValueError):
    """The stored address cannot be put into any of DVLA's address shapes."""


def print_address(address_lines: Sequence[str], postage: str) -> tuple[str, dict[str, dict[str, Any]]]:
    """The print job's `recipientName` and `address` object for these lines and this postage."""
    lines = [line.strip() for line in address_lines if line.strip()]
    if not lines:
        raise InvalidPrintAddress("the letter has no address lines")
    bfpo_number, lines_without_bfpo = _split_bfpo(lines)
    if bfpo_number is not None:
        shape, fields = "bfpoAddress", _bfpo_fields(lines_without_bfpo, bfpo_number)
    elif postage in INTERNATIONAL_POSTAGE:
        shape, fields = "internationalAddress", _lines_and_last(lines, "country")
    else:
        shape, fields = "unstructuredAddress", _lines_and_last(lines, "postcode")
    return lines[0][:RECIPIENT_MAX_LENGTH], {shape: _truncated(fields)}


def _split_bfpo(lines: list[str]) -> tuple[int | None, list[str]]:
    for line in lines:
        match = _BFPO_LINE.fullmatch(line)
        if match:
            return int(match.group(1)), [other for other in lines if not _BFPO_LINE.fullmatch(other)]
    return None, lines


def _bfpo_fields(lines: list[str], bfpo_number: int) -> dict[str, Any]:
    if not lines:
        raise InvalidPrintAddress("a BFPO address needs the recipient's line before the BFPO line")
    postcode = None
    if len(lines) > 1 and _UK_POSTCODE.fullmatch(lines[-1].upper()):
        lines, postcode = lines[:-1], lines[-1]
    # The shape has four lines; a seven-line BFPO address (valid at intake) loses its fifth, as in Notify.
    fields: dict[str, Any] = dict(zip(BFPO_LINE_KEYS, lines))
    if postcode is not None:
        fields["postcode"] = postcode
    fields["bfpoNumber"] = bfpo_number
    return fields


def _lines_and_last(lines: list[str], last_key: str) -> dict[str, Any]:
    after_recipient = lines[1:]
    if not after_recipient:
        raise InvalidPrintAddress(f"the address needs a line for the {last_key} after the recipient")
    middle = after_recipient[:-1]
    if len(middle) > len(LINE_KEYS):
        raise InvalidPrintAddress(f"the address has {len(middle)} lines between the recipient and the "
                                  f"{last_key}; DVLA takes at most {len(LINE_KEYS)}")
    return {**dict(zip(LINE_KEYS, middle)), last_key: after_recipient[-1]}


def _truncated(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value[:MAX_LENGTHS.get(key, LINE_MAX_LENGTH)] if isinstance(value, str) else value
            for key, value in fields.items()}
