"""Checking a precompiled letter: a PDF a service made itself and sends in base64.

The checks and their order are Notify's (notifications-template-preview's `sanitise_file_contents`),
and a failure carries Notify's reason code, which becomes the letter's `validation-failed` reason:

  unable-to-read-the-file          not a PDF, encrypted, no pages, or pypdf cannot parse it
  letter-too-long                  more pages than the limit (Notify's LETTER_MAX_PAGE_COUNT, 10)
  letter-not-a4-portrait-oriented  a page that is not A4 portrait within 2 mm (a landscape page
                                   turned upright by /Rotate counts as portrait, as in Notify)
  content-outside-printable-area   text that starts outside the areas `layout` allows
  notify-tag-found-in-content      DVLA's NOTIFY marker on a page after the first
  address-is-empty                 no text in the envelope window on page 1
  not-enough-address-lines         fewer than 3 lines there
  too-many-address-lines           more than 7

Notify renders every page to pixels to find content outside the printable area; clarion has no
rasteriser, so it looks only at where runs of text start (`pdf_text`). Images, drawings and text that
starts inside an area but runs out of it are not caught. The address lines come back so the caller
can apply Notify's address rules (postcode, country, postage), which are not checked here.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NoReturn

from pypdf import PageObject, PdfReader

from clarion.letters import layout
from clarion.letters.pdf_text import PlacedText, page_size_mm, placed_text
from clarion.letters.render import sheets_for

__all__ = [
    "ADDRESS_IS_EMPTY", "CONTENT_OUTSIDE_PRINTABLE_AREA", "LETTER_MAX_PAGES", "LETTER_TOO_LONG",
    "NOTIFY_TAG_FOUND_IN_CONTENT", "NOT_A4_PORTRAIT", "NOT_ENOUGH_ADDRESS_LINES", "TOO_MANY_ADDRESS_LINES",
    "UNABLE_TO_READ_THE_FILE", "CheckedLetter", "RefusedLetter", "check_precompiled", "read_address",
]

log = logging.getLogger(__name__)

UNABLE_TO_READ_THE_FILE = "unable-to-read-the-file"
LETTER_TOO_LONG = "letter-too-long"
NOT_A4_PORTRAIT = "letter-not-a4-portrait-oriented"
CONTENT_OUTSIDE_PRINTABLE_AREA = "content-outside-printable-area"
NOTIFY_TAG_FOUND_IN_CONTENT = "notify-tag-found-in-content"
ADDRESS_IS_EMPTY = "address-is-empty"
NOT_ENOUGH_ADDRESS_LINES = "not-enough-address-lines"
TOO_MANY_ADDRESS_LINES = "too-many-address-lines"

LETTER_MAX_PAGES = 10
ADDRESS_MIN_LINES = 3
ADDRESS_MAX_LINES = 7
# PDF readers accept a header anywhere in the first 1024 bytes (PDF 1.7 Annex H, note 13).
HEADER_SEARCH_BYTES = 1024
SAME_LINE_MM = 1.0  # runs whose baselines are closer than this are one line of the address


@dataclass(frozen=True)
class CheckedLetter:
    """A precompiled letter that passed: the address read from its window, and its length."""

    address_lines: tuple[str, ...]
    pages: int

    @property
    def sheets(self) -> int:
        """Sheets of paper, printed on both sides: the billable units."""
        return sheets_for(self.pages)


@dataclass(frozen=True)
class RefusedLetter:
    """A precompiled letter that failed: Notify's reason code, and the pages at fault (1-based)."""

    reason: str
    invalid_pages: tuple[int, ...] = ()
    pages: int | None = None


class _Refused(Exception):
    def __init__(self, refusal: RefusedLetter) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


def check_precompiled(pdf: bytes, *, max_pages: int = LETTER_MAX_PAGES) -> CheckedLetter | RefusedLetter:
    """Check a precompiled PDF; never raises for bad input, it answers with a RefusedLetter."""
    count: int | None = None
    try:
        reader = _open(pdf)
        pages = list(reader.pages)
        count = len(pages)
        if count > max_pages:
            return RefusedLetter(LETTER_TOO_LONG, pages=count)
        _check_a4_portrait(pages)
        texts = [placed_text(page) for page in pages]
        _check_printable_areas(texts)
        return CheckedLetter(address_lines=_check_address(texts[0]), pages=count)
    except _Refused as refused:
        return RefusedLetter(refused.refusal.reason, refused.refusal.invalid_pages, refused.refusal.pages or count)
    except Exception as exc:  # untrusted input: pypdf raises many kinds of error on a malformed file
        log.warning("precompiled letter could not be read", extra={"error": type(exc).__name__})
        return RefusedLetter(UNABLE_TO_READ_THE_FILE)


def read_address(pdf: bytes) -> tuple[str, ...]:
    """The lines of text in the envelope window of page 1; () when there are none or the file is unreadable."""
    try:
        return _address_lines(placed_text(_open(pdf).pages[0]))
    except Exception:  # untrusted input, as in check_precompiled
        return ()


def _open(pdf: bytes) -> PdfReader:
    if b"%PDF-" not in pdf[:HEADER_SEARCH_BYTES]:
        _unreadable("no PDF header")
    reader = PdfReader(io.BytesIO(pdf))
    if reader.is_encrypted:
        _unreadable("encrypted")
    if len(reader.pages) == 0:
        _unreadable("no pages")
    return reader


def _unreadable(why: str) -> NoReturn:
    log.warning("precompiled letter could not be read", extra={"error": why})
    raise _Refused(RefusedLetter(UNABLE_TO_READ_THE_FILE))


def _check_a4_portrait(pages: list[PageObject]) -> None:
    wrong = tuple(number for number, page in enumerate(pages, start=1) if not _is_a4_portrait(page))
    if wrong:
        raise _Refused(RefusedLetter(NOT_A4_PORTRAIT, wrong))


def _is_a4_portrait(page: PageObject) -> bool:
    width, height = page_size_mm(page)
    return (abs(width - layout.A4_WIDTH_MM) <= layout.A4_TOLERANCE_MM
            and abs(height - layout.A4_HEIGHT_MM) <= layout.A4_TOLERANCE_MM)


def _check_printable_areas(texts: list[list[PlacedText]]) -> None:
    outside, tagged = [], []
    for number, runs in enumerate(texts, start=1):
        areas = layout.FIRST_PAGE_PRINTABLE if number == 1 else layout.LATER_PAGE_PRINTABLE
        allowed = [area.grown(layout.PRINTABLE_MARGIN_MM) for area in areas]
        for run in runs:
            if _is_notify_tag(run):
                if number > 1:
                    tagged.append(number)
                continue  # Notify's own tag on page 1 is white and expected
            if not any(area.holds(run.x_mm, run.y_mm) for area in allowed):
                outside.append(number)
    if outside:
        raise _Refused(RefusedLetter(CONTENT_OUTSIDE_PRINTABLE_AREA, _unique(outside)))
    if tagged:
        raise _Refused(RefusedLetter(NOTIFY_TAG_FOUND_IN_CONTENT, _unique(tagged)))


def _is_notify_tag(run: PlacedText) -> bool:
    return run.text.strip() == layout.NOTIFY_TAG_TEXT and layout.NOTIFY_TAG_AREA.holds(run.x_mm, run.y_mm)


def _check_address(first_page: list[PlacedText]) -> tuple[str, ...]:
    lines = _address_lines(first_page)
    if not lines:
        raise _Refused(RefusedLetter(ADDRESS_IS_EMPTY, (1,)))
    if len(lines) < ADDRESS_MIN_LINES:
        raise _Refused(RefusedLetter(NOT_ENOUGH_ADDRESS_LINES, (1,)))
    if len(lines) > ADDRESS_MAX_LINES:
        raise _Refused(RefusedLetter(TOO_MANY_ADDRESS_LINES, (1,)))
    return lines


def _address_lines(runs: Iterable[PlacedText]) -> tuple[str, ...]:
    """The window's text as lines, top to bottom, each line's runs left to right."""
    window = layout.ADDRESS_WINDOW.grown(layout.ADDRESS_WINDOW_READ_MARGIN_MM)
    inside = sorted((run for run in runs if window.holds(run.x_mm, run.y_mm)), key=lambda run: (run.y_mm, run.x_mm))
    lines: list[list[PlacedText]] = []
    for run in inside:
        if lines and abs(run.y_mm - lines[-1][0].y_mm) < SAME_LINE_MM:
            lines[-1].append(run)
        else:
            lines.append([run])
    joined = (" ".join(" ".join(run.text.split()) for run in sorted(line, key=lambda run: run.x_mm))
              for line in lines)
    return tuple(text for text in joined if text)


def _unique(numbers: list[int]) -> tuple[int, ...]:
    return tuple(sorted(set(numbers)))
