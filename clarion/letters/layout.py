"""Where things go on an A4 letter: the page, the envelope window and the printable areas.

Every figure is millimetres measured from the top-left corner of a portrait A4 page, as Notify
publishes them in its letter specification and uses them in notifications-template-preview
(`app/precompiled.py`): the address sits in the window of a C5/DL window envelope, 24.6-120 mm from
the left and 39.5-66.3 mm from the top; page 1 may also carry a logo (top left) and the sender's
contact block (top right); the body starts 95 mm down on page 1; every page keeps a 15 mm margin left
and right and 5 mm top and bottom clear for the printer.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "A4_HEIGHT_MM", "A4_TOLERANCE_MM", "A4_WIDTH_MM", "ADDRESS_WINDOW", "ADDRESS_WINDOW_READ_MARGIN_MM",
    "BODY_TOP_MM", "CONTACT_AREA", "FIRST_PAGE_PRINTABLE", "LATER_PAGE_PRINTABLE", "LOGO_AREA", "NOTIFY_TAG_AREA",
    "NOTIFY_TAG_TEXT", "PRINTABLE_MARGIN_MM", "Box",
]

A4_WIDTH_MM = 210.0
A4_HEIGHT_MM = 297.0
# Notify accepts a page as A4 when each side is within 2 mm of 210 x 297 (math.isclose(abs_tol=2)).
A4_TOLERANCE_MM = 2.0

BORDER_LEFT_MM = 15.0
BORDER_RIGHT_MM = A4_WIDTH_MM - 15.0
BORDER_TOP_MM = 5.0
BORDER_BOTTOM_MM = A4_HEIGHT_MM - 5.0
BODY_TOP_MM = 95.0
CONTACT_LEFT_MM = 125.0
LOGO_BOTTOM_MM = 30.0

# Notify reads the address from the window grown by 3 mm on every side, and forgives content that
# strays up to 1 mm over an area's edge (anti-aliasing, rounding in the producing software).
ADDRESS_WINDOW_READ_MARGIN_MM = 3.0
PRINTABLE_MARGIN_MM = 1.0


@dataclass(frozen=True)
class Box:
    """A rectangle on the page, in mm from the top-left corner."""

    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        """Left to right, in mm."""
        return self.right - self.left

    @property
    def height(self) -> float:
        """Top to bottom, in mm."""
        return self.bottom - self.top

    def grown(self, margin_mm: float) -> Box:
        """The same box with `margin_mm` added on every side."""
        return Box(self.left - margin_mm, self.top - margin_mm, self.right + margin_mm, self.bottom + margin_mm)

    def holds(self, x_mm: float, y_mm: float) -> bool:
        """Whether the point lies inside the box (edges included)."""
        return self.left <= x_mm <= self.right and self.top <= y_mm <= self.bottom


ADDRESS_WINDOW = Box(left=24.6, top=39.5, right=120.0, bottom=66.3)
CONTACT_AREA = Box(left=CONTACT_LEFT_MM, top=BORDER_TOP_MM, right=BORDER_RIGHT_MM, bottom=BODY_TOP_MM)
LOGO_AREA = Box(left=BORDER_LEFT_MM, top=BORDER_TOP_MM, right=CONTACT_LEFT_MM, bottom=LOGO_BOTTOM_MM)
FIRST_PAGE_BODY = Box(left=BORDER_LEFT_MM, top=BODY_TOP_MM, right=BORDER_RIGHT_MM, bottom=BORDER_BOTTOM_MM)
LATER_PAGE_BODY = Box(left=BORDER_LEFT_MM, top=BORDER_TOP_MM, right=BORDER_RIGHT_MM, bottom=BORDER_BOTTOM_MM)

# Where a page may carry anything at all; everything else must stay blank for the printer.
FIRST_PAGE_PRINTABLE = (FIRST_PAGE_BODY, CONTACT_AREA, LOGO_AREA, ADDRESS_WINDOW)
LATER_PAGE_PRINTABLE = (LATER_PAGE_BODY,)

# DVLA's print line treats the word NOTIFY at the top left (7.4 mm from the left, 4.3 mm from the
# top, in 6 pt type) as the start of a new letter; Notify's own tagged PDFs carry it on page 1 only.
NOTIFY_TAG_TEXT = "NOTIFY"
NOTIFY_TAG_AREA = Box(left=2.4, top=1.3, right=BORDER_LEFT_MM + 5.0, bottom=10.0)
