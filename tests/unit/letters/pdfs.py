"""PDFs for the letter tests, drawn with reportlab: text placed in mm from the page's top-left corner."""

from __future__ import annotations

import io
from collections.abc import Sequence

from pypdf import PdfReader, PdfWriter, Transformation
from reportlab.lib.pagesizes import A4, LETTER, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

Placed = tuple[float, float, str]  # x mm from the left, baseline y mm from the top, text

ADDRESS = ("Ada Lovelace", "12 St James's Square", "London", "SW1Y 4JH")
US_LETTER = LETTER


def address_at(lines: Sequence[str], left_mm: float = 26.0, first_baseline_mm: float = 44.0,
               step_mm: float = 4.0) -> list[Placed]:
    """Address lines placed in the envelope window."""
    return [(left_mm, first_baseline_mm + index * step_mm, line) for index, line in enumerate(lines)]


def body_text(text: str = "Dear Ada, thank you for your letter.") -> list[Placed]:
    """A line of body text where page 1's body starts."""
    return [(25.0, 105.0, text)]


def make_pdf(pages: Sequence[Sequence[Placed]], *, page_size: tuple[float, float] = A4,
             sizes: dict[int, tuple[float, float]] | None = None) -> bytes:
    """One page per entry, each with its text; `sizes` gives some pages (1-based) another size."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=page_size, invariant=1)
    for number, texts in enumerate(pages, start=1):
        width, height = (sizes or {}).get(number, page_size)
        canvas.setPageSize((width, height))
        canvas.setFont("Helvetica", 10)
        for x_mm, y_mm, text in texts:
            canvas.drawString(x_mm * mm, height - y_mm * mm, text)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def valid_letter(address: Sequence[str] = ADDRESS, *, pages: int = 1) -> bytes:
    """An A4 letter with the address in the window and one line of body text on every page."""
    first = address_at(address) + body_text()
    later = [[(25.0, 30.0, f"Page {number} text")] for number in range(2, pages + 1)]
    return make_pdf([first, *later])


def turned_upright(pdf: bytes) -> bytes:
    """Every page's content laid on a landscape MediaBox, with /Rotate 90 showing it portrait again.

    Some producers (scanners, print drivers) write portrait letters this way; Notify accepts them.
    """
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    for page in writer.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        # Turn the content a quarter anticlockwise onto a landscape sheet; /Rotate 90 turns it back.
        page.add_transformation(Transformation().rotate(90).translate(tx=height, ty=0))
        page.mediabox.lower_left = (0, 0)
        page.mediabox.upper_right = (height, width)
        page.rotation = 90
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted(pdf: bytes, password: str = "secret") -> bytes:
    """The PDF, encrypted with a user password."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


LANDSCAPE_A4 = landscape(A4)
