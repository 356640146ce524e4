"""What a letter carries besides its body: the address in the envelope window, the sender's contact
block and the date at the top right of page 1, and "Page n of N" at the foot of every page.

Each address line is drawn as its own line of text inside `layout.ADDRESS_WINDOW`, so the same
window check that reads a precompiled letter reads these letters too. Text that would not fit its
area is set smaller (down to 6 pt); only what still does not fit at 6 pt is cut, with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import getAscentDescent, stringWidth
from reportlab.pdfgen.canvas import Canvas

from clarion.letters import layout

__all__ = ["draw_address", "draw_contact_block_and_date", "draw_page_number", "format_date"]

log = logging.getLogger(__name__)

PAGE_HEIGHT_PT = A4[1]
LARGEST_PT = 10.0
SMALLEST_PT = 6.0
STEP_PT = 0.5
LEADING = 1.15  # line height as a multiple of the type size
INSET_MM = 1.0  # keep text this far inside an area's edges
PAGE_NUMBER_PT = 8.0
PAGE_NUMBER_BASELINE_MM = 287.0  # from the top: inside the 5 mm foot margin, below the body frame
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


@dataclass(frozen=True)
class _Fitted:
    lines: tuple[str, ...]
    size_pt: float


def format_date(day: date) -> str:
    """The date as a letter shows it, e.g. "22 November 2026" (English whatever the locale)."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def draw_address(canvas: Canvas, lines: Sequence[str], font: str) -> None:
    """The recipient's address, one drawn line per address line, inside the envelope window."""
    window = layout.ADDRESS_WINDOW
    fitted = _fit(list(lines), window, font, wrap=False)
    _draw_lines(canvas, fitted, font, left_mm=window.left, top_mm=window.top)


def draw_contact_block_and_date(canvas: Canvas, contact_block: str | None, day: date, font: str) -> None:
    """The sender's contact block, then a blank line and the date, at the top right of page 1."""
    area = layout.CONTACT_AREA
    lines = [line.strip() for line in (contact_block or "").replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    if lines:
        lines.append("")
    lines.append(format_date(day))
    # The top 5 mm of the area is the printer's margin; start a little below it.
    fitted = _fit(lines, layout.Box(area.left, area.top + 4.0, area.right, area.bottom), font, wrap=True,
                  keep_last=True)
    _draw_lines(canvas, fitted, font, left_mm=area.left, top_mm=area.top + 4.0)


def draw_page_number(canvas: Canvas, number: int, total: int, font: str) -> None:
    """"Page n of N", centred at the foot of the page."""
    canvas.setFont(font, PAGE_NUMBER_PT)
    canvas.drawCentredString(layout.A4_WIDTH_MM / 2 * mm, PAGE_HEIGHT_PT - PAGE_NUMBER_BASELINE_MM * mm,
                             f"Page {number} of {total}")


def _fit(lines: list[str], box: layout.Box, font: str, *, wrap: bool, keep_last: bool = False) -> _Fitted:
    """The largest type size at which the lines fit the box (wrapped to its width if `wrap`)."""
    width_pt = (box.width - 2 * INSET_MM) * mm
    height_pt = (box.height - 2 * INSET_MM) * mm
    size = LARGEST_PT
    while True:
        shown = _wrapped(lines, font, size, width_pt) if wrap else lines
        if _height(len(shown), font, size) <= height_pt and _widest(shown, font, size) <= width_pt:
            return _Fitted(tuple(shown), size)
        if size - STEP_PT < SMALLEST_PT:
            return _Fitted(_cut(shown, font, size, width_pt, height_pt, keep_last=keep_last), size)
        size -= STEP_PT


def _wrapped(lines: list[str], font: str, size: float, width_pt: float) -> list[str]:
    out: list[str] = []
    for line in lines:
        out.extend(simpleSplit(line, font, size, width_pt) or [""])
    return out


def _widest(lines: Sequence[str], font: str, size: float) -> float:
    return max((stringWidth(line, font, size) for line in lines), default=0.0)


def _height(count: int, font: str, size: float) -> float:
    if count == 0:
        return 0.0
    ascent, descent = getAscentDescent(font, size)
    return ascent - descent + (count - 1) * size * LEADING


def _cut(lines: list[str], font: str, size: float, width_pt: float, height_pt: float, *,
         keep_last: bool) -> tuple[str, ...]:
    """What fits at the smallest size: lines shortened to the width, surplus lines dropped."""
    shortened = []
    for line in lines:
        while line and stringWidth(line, font, size) > width_pt:
            line = line[:-1]
        shortened.append(line)
    room = max(1, len(shortened))
    while room > 1 and _height(room, font, size) > height_pt:
        room -= 1
    kept = shortened[:room - 1] + shortened[-1:] if keep_last and room < len(shortened) else shortened[:room]
    log.warning("letter text cut to fit its area", extra={"lines": len(lines), "kept_lines": len(kept)})
    return tuple(kept)


def _draw_lines(canvas: Canvas, fitted: _Fitted, font: str, *, left_mm: float, top_mm: float) -> None:
    ascent, _ = getAscentDescent(font, fitted.size_pt)
    baseline = PAGE_HEIGHT_PT - (top_mm + INSET_MM) * mm - ascent
    canvas.setFont(font, fitted.size_pt)
    for line in fitted.lines:
        if line:
            canvas.drawString((left_mm + INSET_MM) * mm, baseline, line)
        baseline -= fitted.size_pt * LEADING
