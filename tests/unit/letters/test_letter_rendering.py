"""A template letter renders to an A4 PDF a window envelope and a print house can use."""

from __future__ import annotations

import io
import logging
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import reportlab
from pypdf import PdfReader

from clarion.config import Settings
from clarion.letters import layout
from clarion.letters.fonts import fonts_from_settings
from clarion.letters.pdf_text import PlacedText, page_size_mm, placed_text
from clarion.letters.precompiled import CheckedLetter, check_precompiled
from clarion.letters.render import LetterContent, render_pdf, sheets_for

LETTER = LetterContent(
    address_lines=("Ada Lovelace", "12 St James's Square", "London", "SW1Y 4JH"),
    subject="Your licence renewal",
    body="Dear Ada,\n\nYour licence is due for renewal.",
    contact_block="Licensing Office\nPO Box 123\nSwansea\nSA1 1AA",
    date=date(2026, 11, 22),
)
LONG_PARAGRAPH = " ".join(["The quick brown fox jumps over the lazy dog."] * 40)


def pages_of(pdf: bytes) -> list:
    return list(PdfReader(io.BytesIO(pdf)).pages)


def text_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pages_of(pdf)]


def runs_in(box: layout.Box, runs: list[PlacedText]) -> list[str]:
    return [run.text.strip() for run in runs if box.holds(run.x_mm, run.y_mm)]


def fonts_used(pdf: bytes, wanted: str) -> set[str]:
    """The fonts of the runs of text containing `wanted`, on every page."""
    found: set[str] = set()
    for page in pages_of(pdf):
        def visit(text: str, _cm: object, _tm: object, font: dict | None, _size: object) -> None:
            if wanted in text and font:
                found.add(str(font["/BaseFont"]).split("+", 1)[-1])
        page.extract_text(visitor_text=visit)
    return found


def test_the_letter_is_a_readable_a4_pdf() -> None:
    rendered = render_pdf(LETTER)
    [page] = pages_of(rendered.pdf)
    width, height = page_size_mm(page)
    assert (round(width, 1), round(height, 1)) == (210.0, 297.0)
    assert rendered.pages == 1


def test_the_address_sits_inside_the_envelope_window_one_line_per_address_line() -> None:
    rendered = render_pdf(LETTER)
    runs = placed_text(pages_of(rendered.pdf)[0])
    assert runs_in(layout.ADDRESS_WINDOW, runs) == list(LETTER.address_lines)


def test_the_precompiled_check_reads_the_same_address_back() -> None:
    rendered = render_pdf(LETTER)
    assert check_precompiled(rendered.pdf) == CheckedLetter(address_lines=LETTER.address_lines, pages=1)


def test_a_seven_line_address_with_long_lines_still_fits_the_window() -> None:
    address = ("Professor Augusta Ada King-Noel, Countess of Lovelace and Baroness",
               "Flat 3, The Old Analytical Engine Works", "Unit 12, Difference Engine Industrial Estate",
               "Marylebone High Street", "Westminster", "London", "NW1 6XE")
    rendered = render_pdf(replace(LETTER, address_lines=address))
    runs = placed_text(pages_of(rendered.pdf)[0])
    assert runs_in(layout.ADDRESS_WINDOW, runs) == list(address)
    assert check_precompiled(rendered.pdf) == CheckedLetter(address_lines=address, pages=1)


def test_the_contact_block_and_the_date_are_at_the_top_right_of_page_one() -> None:
    rendered = render_pdf(LETTER)
    runs = placed_text(pages_of(rendered.pdf)[0])
    assert runs_in(layout.CONTACT_AREA, runs) == ["Licensing Office", "PO Box 123", "Swansea", "SA1 1AA",
                                                  "22 November 2026"]


def test_without_a_contact_block_the_date_still_shows() -> None:
    rendered = render_pdf(replace(LETTER, contact_block=None, date=date(2027, 1, 5)))
    runs = placed_text(pages_of(rendered.pdf)[0])
    assert runs_in(layout.CONTACT_AREA, runs) == ["5 January 2027"]


def test_a_very_long_contact_block_stays_in_its_area_and_keeps_the_date() -> None:
    contact = "\n".join(f"Contact line {number} with a fairly long description" for number in range(40))
    rendered = render_pdf(replace(LETTER, contact_block=contact))
    runs = placed_text(pages_of(rendered.pdf)[0])
    shown = runs_in(layout.CONTACT_AREA, runs)
    assert shown[0] == "Contact line 0 with a fairly long description"
    assert shown[-1] == "22 November 2026"  # the lines that do not fit give way to the date
    assert 10 < len(shown) < 41
    assert isinstance(check_precompiled(rendered.pdf), CheckedLetter)  # nothing strays outside its area


def test_the_subject_is_a_bold_heading_where_the_body_starts() -> None:
    rendered = render_pdf(LETTER)
    runs = placed_text(pages_of(rendered.pdf)[0])
    [subject] = [run for run in runs if run.text.strip() == LETTER.subject]
    assert layout.BODY_TOP_MM < subject.y_mm < layout.BODY_TOP_MM + 10
    assert subject.y_mm < min(run.y_mm for run in runs if "Dear Ada" in run.text)
    assert fonts_used(rendered.pdf, LETTER.subject) == {"BitstreamVeraSans-Bold"}


def test_a_long_body_flows_onto_more_pages_with_page_numbers() -> None:
    body = "\n\n".join(f"Paragraph {number}. {LONG_PARAGRAPH}" for number in range(12))
    rendered = render_pdf(replace(LETTER, body=body))
    texts = text_of(rendered.pdf)
    assert rendered.pages == len(texts) >= 3
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {rendered.pages}" in text
    everything = "".join(texts)
    positions = [everything.index(f"Paragraph {number}.") for number in range(12)]
    assert positions == sorted(positions)


def test_only_page_one_carries_the_address_and_contact_block() -> None:
    rendered = render_pdf(replace(LETTER, body="First page\n\n***\n\nSecond page"))
    later = placed_text(pages_of(rendered.pdf)[1])
    assert not runs_in(layout.ADDRESS_WINDOW, later)
    assert not runs_in(layout.CONTACT_AREA, later)


@pytest.mark.parametrize(("page_breaks", "pages", "sheets"), [(0, 1, 1), (1, 2, 1), (2, 3, 2), (3, 4, 2)])
def test_sheets_are_pages_printed_on_both_sides(page_breaks: int, pages: int, sheets: int) -> None:
    body = "\n\n***\n\n".join(f"Part {number}" for number in range(page_breaks + 1))
    rendered = render_pdf(replace(LETTER, body=body))
    assert (rendered.pages, rendered.sheets) == (pages, sheets)
    assert len(pages_of(rendered.pdf)) == pages


def test_sheets_for_ten_pages_is_five() -> None:
    assert sheets_for(10) == 5
    assert sheets_for(11) == 6


def test_markdown_headings_lists_bold_and_links_render() -> None:
    body = ("# What happens next\n\nWe will:\n\n* check your form\n* write to you\n\n"
            "1. Fill in the form\n2. Post it back\n\n## Questions\n\nCall us, **quoting your reference**.\n\n"
            "Read [the guidance](https://www.gov.uk/renew) first.")
    rendered = render_pdf(replace(LETTER, body=body))
    [text] = text_of(rendered.pdf)
    for expected in ("What happens next", "• check your form", "• write to you", "1. Fill in the form",
                     "2. Post it back", "Questions", "the guidance: https://www.gov.uk/renew"):
        assert expected in text
    assert "**" not in text and "# " not in text
    assert fonts_used(rendered.pdf, "What happens next") == {"BitstreamVeraSans-Bold"}
    assert fonts_used(rendered.pdf, "quoting your reference") == {"BitstreamVeraSans-Bold"}
    assert fonts_used(rendered.pdf, "Call us") == {"BitstreamVeraSans-Roman"}


def test_a_page_break_starts_a_new_page() -> None:
    rendered = render_pdf(replace(LETTER, body="Before the break\n\n---\n\nAfter the break"))
    first, second = text_of(rendered.pdf)
    assert "Before the break" in first and "After the break" not in first
    assert "After the break" in second


def test_text_that_looks_like_markup_is_printed_as_typed() -> None:
    body = "Use <b>this</b> & <font size=40>that</font> &amp; more"
    rendered = render_pdf(replace(LETTER, body=body))
    assert body in text_of(rendered.pdf)[0]


def test_a_word_too_long_for_a_line_is_split_and_stays_printable() -> None:
    rendered = render_pdf(replace(LETTER, body="z" * 400))
    assert isinstance(check_precompiled(rendered.pdf), CheckedLetter)
    lines = [line for line in text_of(rendered.pdf)[0].split("\n") if line.startswith("z")]
    assert len(lines) > 1 and "".join(lines) == "z" * 400


def test_the_same_letter_renders_to_the_same_bytes() -> None:
    assert render_pdf(LETTER).pdf == render_pdf(LETTER).pdf
    assert render_pdf(LETTER).pdf != render_pdf(replace(LETTER, date=date(2026, 11, 23))).pdf


def test_an_empty_body_and_subject_still_make_one_page() -> None:
    rendered = render_pdf(replace(LETTER, subject="", body=""))
    assert rendered.pages == 1
    assert check_precompiled(rendered.pdf) == CheckedLetter(address_lines=LETTER.address_lines, pages=1)


def test_letter_font_settings_choose_the_font_the_letter_is_set_in() -> None:
    bundled = Path(reportlab.__file__).parent / "fonts"
    settings = Settings(letter_font_path=bundled / "VeraIt.ttf", letter_bold_font_path=bundled / "VeraBI.ttf")
    rendered = render_pdf(replace(LETTER, body="Set in **italics**"), fonts=fonts_from_settings(settings))
    assert fonts_used(rendered.pdf, "Set in") == {"BitstreamVeraSans-Oblique"}
    assert fonts_used(rendered.pdf, "italics") == {"BitstreamVeraSans-BoldOblique"}


def test_characters_the_font_lacks_are_logged_by_code_point(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="clarion.letters.render"):
        render_pdf(replace(LETTER, body="Annwyl Gwenllian, croeso i'r tŵr"))  # Vera has no ŵ
    [record] = caplog.records
    assert record.code_points == ["U+0175"]
    assert "Gwenllian" not in caplog.text


def test_a_letter_the_font_covers_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="clarion.letters.render"):
        render_pdf(replace(LETTER, body="Café, naïve, £5 – “quoted” • bullet"))
    assert not caplog.records
