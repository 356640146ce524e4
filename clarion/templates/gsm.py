"""The SMS character set: sanitising text to what phones display, and counting fragments.

Text messages go out in GSM 03.38 (7-bit) when every character is in that alphabet. Welsh accented
vowels outside it are kept because Welsh services need them; one of them switches the whole
message to UCS-2, which fits fewer characters in a fragment.
"""

from __future__ import annotations

import math
import unicodedata

__all__ = [
    "ALLOWED_CHARACTERS",
    "EXTENSION_CHARACTERS",
    "GSM_CHARACTERS",
    "WELSH_CHARACTERS",
    "fragment_count",
    "is_ucs2",
    "sanitise",
    "utf16_length",
]

EXTENSION_CHARACTERS = frozenset("^{}\\[~]|€")
GSM_CHARACTERS = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
) | EXTENSION_CHARACTERS
WELSH_CHARACTERS = frozenset(
    "àèìòùẁỳÀÈÌÒÙẀỲáéíóúẃýÁÉÍÓÚẂÝäëïöüẅÿÄËÏÖÜẄŸâêîôûŵŷÂÊÎÔÛŴŶ"
)
ALLOWED_CHARACTERS = GSM_CHARACTERS | WELSH_CHARACTERS

# Characters people paste from word processors, mapped to what they meant.
REPLACEMENTS = {
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2026": "...",  # ellipsis
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u00a0": " ",  # no-break space
    "\u202f": " ",  # narrow no-break space
    "\t": " ",
    "\u180e": "",  # Mongolian vowel separator
    "\u200b": "",  # zero width space
    "\u200c": "",  # zero width non-joiner
    "\u200d": "",  # zero width joiner
    "\u2060": "",  # word joiner
    "\ufeff": "",  # zero width no-break space / byte order mark
}

GSM_SINGLE_FRAGMENT = 160
GSM_MULTIPART_FRAGMENT = 153  # 7 characters go on the concatenation header
UCS2_SINGLE_FRAGMENT = 70
UCS2_MULTIPART_FRAGMENT = 67


def _encode_character(char: str) -> str:
    if char in ALLOWED_CHARACTERS:
        return char
    if char in REPLACEMENTS:
        return REPLACEMENTS[char]
    # Canonical decomposition only: é -> e + accent, but not ligatures or full-width forms.
    base = unicodedata.normalize("NFD", char)[0]
    return base if base in ALLOWED_CHARACTERS else "?"


def sanitise(text: str) -> str:
    """text with every character a phone can show kept, near equivalents swapped in, the rest '?'."""
    return "".join(_encode_character(char) for char in text)


def is_ucs2(text: str) -> bool:
    """Whether sanitised text needs UCS-2 because it has a Welsh character outside GSM."""
    return any(char not in GSM_CHARACTERS for char in text)


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, as phones and providers count it."""
    return len(text.encode("utf-16-le")) // 2


def fragment_count(text: str) -> int:
    """How many SMS fragments sanitised text is billed as."""
    if is_ucs2(text):
        length = utf16_length(text)
        return 1 if length <= UCS2_SINGLE_FRAGMENT else math.ceil(length / UCS2_MULTIPART_FRAGMENT)
    length = len(text) + sum(char in EXTENSION_CHARACTERS for char in text)
    return 1 if length <= GSM_SINGLE_FRAGMENT else math.ceil(length / GSM_MULTIPART_FRAGMENT)
