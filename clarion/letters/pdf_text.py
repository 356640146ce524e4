"""Where each piece of text sits on a PDF page, measured as the page is seen: portrait, in mm from the
top-left corner, whatever the page's /Rotate and MediaBox origin.

pypdf's text extraction calls a visitor with each run of text and the two matrices in force (the
current transformation matrix and the text matrix); the run's origin, the left end of its baseline,
is where those matrices put the point (0, 0). Only origins are known, not the width of the run.
"""

from __future__ import annotations

from dataclasses import dataclass

from pypdf import PageObject

__all__ = ["PlacedText", "page_size_mm", "placed_text"]

POINTS_PER_MM = 72 / 25.4


@dataclass(frozen=True)
class PlacedText:
    """A run of text and the origin of its baseline, in mm from the page's top-left corner."""

    text: str
    x_mm: float
    y_mm: float


def page_size_mm(page: PageObject) -> tuple[float, float]:
    """The page's width and height as displayed (after /Rotate), in mm."""
    width = float(page.mediabox.width) / POINTS_PER_MM
    height = float(page.mediabox.height) / POINTS_PER_MM
    return (height, width) if _rotation(page) in (90, 270) else (width, height)


def placed_text(page: PageObject) -> list[PlacedText]:
    """Every run of visible characters on the page, with where it starts."""
    left, bottom = float(page.mediabox.left), float(page.mediabox.bottom)
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    rotation = _rotation(page)
    found: list[PlacedText] = []

    def visit(text: str, cm: list[float], tm: list[float], _font: object, _size: object) -> None:
        if not text.strip():
            return
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4] - left
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5] - bottom
        shown_x, shown_y, shown_height = _as_displayed(x, y, width, height, rotation)
        found.append(PlacedText(text, shown_x / POINTS_PER_MM, (shown_height - shown_y) / POINTS_PER_MM))

    page.extract_text(visitor_text=visit)
    return found


def _rotation(page: PageObject) -> int:
    return int(page.rotation) % 360


def _as_displayed(x: float, y: float, width: float, height: float, rotation: int) -> tuple[float, float, float]:
    """A point in the unrotated page (origin bottom-left) as seen after turning it clockwise by /Rotate.

    Returns the point and the displayed page's height, all in points, origin still bottom-left.
    """
    if rotation == 90:
        return y, width - x, width
    if rotation == 180:
        return width - x, height - y, height
    if rotation == 270:
        return height - y, x, width
    return x, y, height
