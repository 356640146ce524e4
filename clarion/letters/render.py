"""A template letter as an A4 PDF ready to print and post in a C5/DL window envelope.

Page 1 carries the address in the envelope window, the sender's contact block and the date at the top
right, then the subject as a heading and the body from 95 mm down (`layout`); the body flows onto as
many pages as it needs, and every page says "Page n of N". Letters are printed on both sides, so the
billable units are sheets: half the pages, rounded up.

The output is byte-for-byte the same for the same input (reportlab's invariant mode fixes the dates
and ids it would otherwise vary), so a stored letter can be compared with a re-rendered one.

Rendering is CPU-bound and synchronous (a few milliseconds a page, see benchmarks/letters.py): call
it from a worker thread or process, not on an event loop.
"""

from __future__ import annotations

import functools
import io
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageBreak, PageTemplate, Paragraph

from clarion.letters import blocks, furniture, layout
from clarion.letters.fonts import DEFAULT_FONTS, LetterFonts, RegisteredFonts, missing_characters, register

__all__ = ["LetterContent", "RenderedPdf", "render_pdf", "sheets_for"]

log = logging.getLogger(__name__)

PAGE_WIDTH_PT, PAGE_HEIGHT_PT = A4
BODY_LEFT_MM = layout.ADDRESS_WINDOW.left  # the body lines up with the address
BODY_RIGHT_MM = 190.0
BODY_BOTTOM_MM = 20.0  # from the foot of the page; the page number sits below
LATER_PAGE_TOP_MM = 20.0


@dataclass(frozen=True)
class LetterContent:
    """A filled letter: address lines, subject, markdown body, the sender's contact block and the date."""

    address_lines: Sequence[str]
    subject: str
    body: str
    contact_block: str | None
    date: date


@dataclass(frozen=True)
class RenderedPdf:
    """The PDF and how many pages and sheets of paper it takes."""

    pdf: bytes
    pages: int

    @property
    def sheets(self) -> int:
        """Sheets of paper, printed on both sides: the letter's billable units."""
        return sheets_for(self.pages)


def sheets_for(pages: int) -> int:
    """Sheets needed to print `pages` pages double-sided."""
    return math.ceil(pages / 2)


def render_pdf(letter: LetterContent, *, fonts: LetterFonts = DEFAULT_FONTS) -> RenderedPdf:
    """The letter as an A4 PDF."""
    names = register(fonts)
    _warn_of_missing_characters(letter, names)
    page_count: list[int] = []
    out = io.BytesIO()
    document = BaseDocTemplate(
        out, pagesize=A4, invariant=1, title=letter.subject, author="clarion", creator="clarion",
        leftMargin=0, rightMargin=0, topMargin=0, bottomMargin=0,
        pageTemplates=_page_templates(letter, names),
    )
    document.build(_flowables(letter, _styles(names)),
                   canvasmaker=functools.partial(_NumberedCanvas, font=names.regular, page_count=page_count))
    return RenderedPdf(pdf=out.getvalue(), pages=page_count[0])


def _warn_of_missing_characters(letter: LetterContent, names: RegisteredFonts) -> None:
    text = "".join([*letter.address_lines, letter.subject, letter.body, letter.contact_block or ""])
    missing = missing_characters(names.regular, text)
    if missing:
        # Code points only: the characters alone say which font is needed, not what the letter says.
        log.warning("the letter font has no glyph for some characters; set LETTER_FONT_PATH to a fuller font",
                    extra={"code_points": sorted(f"U+{ord(character):04X}" for character in missing)})


def _page_templates(letter: LetterContent, names: RegisteredFonts) -> list[PageTemplate]:
    width = (BODY_RIGHT_MM - BODY_LEFT_MM) * mm
    first = Frame(BODY_LEFT_MM * mm, BODY_BOTTOM_MM * mm, width,
                  PAGE_HEIGHT_PT - (layout.BODY_TOP_MM + BODY_BOTTOM_MM) * mm,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="first")
    later = Frame(BODY_LEFT_MM * mm, BODY_BOTTOM_MM * mm, width,
                  PAGE_HEIGHT_PT - (LATER_PAGE_TOP_MM + BODY_BOTTOM_MM) * mm,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0, id="later")

    def first_page(canvas: Canvas, _document: BaseDocTemplate) -> None:
        furniture.draw_address(canvas, [line.strip() for line in letter.address_lines if line.strip()],
                               names.regular)
        furniture.draw_contact_block_and_date(canvas, letter.contact_block, letter.date, names.regular)

    return [PageTemplate(id="first", frames=[first], onPage=first_page, autoNextPageTemplate="later"),
            PageTemplate(id="later", frames=[later])]


@functools.lru_cache(maxsize=8)
def _styles(names: RegisteredFonts) -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=names.regular, fontSize=11, leading=15, spaceAfter=8)
    return {
        "subject": ParagraphStyle("subject", parent=body, fontName=names.bold, fontSize=14, leading=18,
                                  spaceAfter=10),
        "heading": ParagraphStyle("heading", parent=body, fontName=names.bold, fontSize=12.5, leading=16,
                                  spaceBefore=4, spaceAfter=6),
        "subheading": ParagraphStyle("subheading", parent=body, fontName=names.bold, fontSize=11, leading=15,
                                     spaceBefore=2, spaceAfter=4),
        "paragraph": body,
        "item": ParagraphStyle("item", parent=body, leftIndent=7 * mm, bulletIndent=1.5 * mm, spaceAfter=4,
                               bulletFontName=names.regular),
    }


def _flowables(letter: LetterContent, styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    flowables: list[Flowable] = []
    if letter.subject.strip():
        flowables.append(Paragraph(blocks.inline_markup(letter.subject.strip()), styles["subject"]))
    for block in blocks.parse_blocks(letter.body):
        flowables.append(_flowable(block, styles))
    if not flowables:
        flowables.append(Paragraph("", styles["paragraph"]))  # a blank letter is still one page
    return flowables


def _flowable(block: blocks.Block, styles: dict[str, ParagraphStyle]) -> Flowable:
    if block.kind == "page_break":
        return PageBreak()
    text = "<br/>".join(blocks.inline_markup(line) for line in block.lines)
    if block.kind == "bullet":
        return Paragraph(text, styles["item"], bulletText="•")
    if block.kind == "numbered":
        return Paragraph(text, styles["item"], bulletText=f"{block.number}.")
    return Paragraph(text, styles[block.kind])


class _NumberedCanvas(Canvas):
    """A canvas that holds every finished page until the end, so each can say "Page n of N"."""

    def __init__(self, *args: Any, font: str, page_count: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._font = font
        self._page_count = page_count
        self._held_pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802  (reportlab's name)
        """Keep the finished page's drawing state instead of writing it out now."""
        self._held_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        """Write every held page with its number, then the file."""
        total = len(self._held_pages)
        for number, state in enumerate(self._held_pages, start=1):
            self.__dict__.update(state)
            furniture.draw_page_number(self, number, total, self._font)
            super().showPage()
        self._page_count.append(total)
        super().save()
