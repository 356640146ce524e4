"""A precompiled PDF is checked the way Notify checks it, and refused with Notify's reason code."""

from __future__ import annotations

import pytest

from clarion.letters import precompiled
from clarion.letters.precompiled import CheckedLetter, RefusedLetter, check_precompiled, read_address
from tests.unit.letters.pdfs import (
    ADDRESS,
    LANDSCAPE_A4,
    US_LETTER,
    address_at,
    body_text,
    encrypted,
    make_pdf,
    turned_upright,
    valid_letter,
)


def test_an_a4_letter_with_an_address_in_the_window_passes() -> None:
    result = check_precompiled(valid_letter(pages=3))
    assert result == CheckedLetter(address_lines=ADDRESS, pages=3)
    assert result.sheets == 2


@pytest.mark.parametrize("content", [
    b"", b"hello, this is not a PDF", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, b"%PDF-1.4\n garbage with no objects",
])
def test_something_that_is_not_a_pdf_cannot_be_read(content: bytes) -> None:
    assert check_precompiled(content) == RefusedLetter(precompiled.UNABLE_TO_READ_THE_FILE)


def test_a_pdf_cut_short_cannot_be_read() -> None:
    pdf = valid_letter()
    assert check_precompiled(pdf[: len(pdf) // 3]) == RefusedLetter(precompiled.UNABLE_TO_READ_THE_FILE)


def test_an_encrypted_pdf_cannot_be_read() -> None:
    assert check_precompiled(encrypted(valid_letter())) == RefusedLetter(precompiled.UNABLE_TO_READ_THE_FILE)


def test_us_letter_paper_is_not_a4() -> None:
    pdf = make_pdf([address_at(ADDRESS)], page_size=US_LETTER)
    assert check_precompiled(pdf) == RefusedLetter(precompiled.NOT_A4_PORTRAIT, (1,), pages=1)


def test_a_landscape_page_is_refused_and_named() -> None:
    pdf = make_pdf([address_at(ADDRESS), body_text(), body_text()], sizes={2: LANDSCAPE_A4})
    assert check_precompiled(pdf) == RefusedLetter(precompiled.NOT_A4_PORTRAIT, (2,), pages=3)


def test_a_landscape_sheet_turned_upright_by_rotate_counts_as_portrait() -> None:
    assert check_precompiled(turned_upright(valid_letter(pages=2))) == CheckedLetter(address_lines=ADDRESS, pages=2)


def test_a_page_within_two_millimetres_of_a4_is_a4() -> None:
    width, height = 210.0 + 1.9, 297.0 - 1.9
    pdf = make_pdf([address_at(ADDRESS)], page_size=(width * 72 / 25.4, height * 72 / 25.4))
    assert isinstance(check_precompiled(pdf), CheckedLetter)


def test_more_pages_than_the_limit_is_too_long() -> None:
    assert check_precompiled(valid_letter(pages=10)) == CheckedLetter(address_lines=ADDRESS, pages=10)
    assert check_precompiled(valid_letter(pages=11)) == RefusedLetter(precompiled.LETTER_TOO_LONG, pages=11)


def test_the_page_limit_is_a_parameter() -> None:
    assert check_precompiled(valid_letter(pages=3), max_pages=2) == RefusedLetter(precompiled.LETTER_TOO_LONG,
                                                                                  pages=3)


def test_a_letter_with_nothing_in_the_window_has_an_empty_address() -> None:
    assert check_precompiled(make_pdf([body_text()])) == RefusedLetter(precompiled.ADDRESS_IS_EMPTY, (1,), pages=1)


def test_two_address_lines_are_not_enough() -> None:
    pdf = make_pdf([address_at(ADDRESS[:2]) + body_text()])
    assert check_precompiled(pdf) == RefusedLetter(precompiled.NOT_ENOUGH_ADDRESS_LINES, (1,), pages=1)


def test_eight_address_lines_are_too_many() -> None:
    lines = [f"Line {number}" for number in range(1, 9)]
    pdf = make_pdf([address_at(lines, first_baseline_mm=41.0, step_mm=3.3) + body_text()])
    assert check_precompiled(pdf) == RefusedLetter(precompiled.TOO_MANY_ADDRESS_LINES, (1,), pages=1)


def test_runs_of_text_on_one_baseline_make_one_address_line() -> None:
    first = [(26.0, 44.0, "Flat 1,"), (40.0, 44.0, "Lovelace House")] + address_at(ADDRESS[1:], first_baseline_mm=48.0)
    assert check_precompiled(make_pdf([first])) == CheckedLetter(
        address_lines=("Flat 1, Lovelace House", *ADDRESS[1:]), pages=1)


def test_an_address_a_millimetre_over_the_window_edge_is_forgiven() -> None:
    pdf = make_pdf([address_at(ADDRESS, left_mm=24.0, first_baseline_mm=39.0)])
    assert check_precompiled(pdf) == CheckedLetter(address_lines=ADDRESS, pages=1)


def test_the_address_is_read_up_to_three_millimetres_beyond_the_window_as_notify_does() -> None:
    assert read_address(make_pdf([address_at(ADDRESS, left_mm=22.0, first_baseline_mm=37.0)])) == ADDRESS
    assert read_address(make_pdf([address_at(ADDRESS, left_mm=21.0)])) == ()


@pytest.mark.parametrize(("where", "page"), [
    ((5.0, 150.0), 1),    # the left margin
    ((198.0, 150.0), 1),  # the right margin
    ((50.0, 295.0), 1),   # the foot margin
    ((30.0, 80.0), 1),    # page 1, between the window and the body
    ((17.0, 50.0), 1),    # page 1, left of the window
    ((50.0, 3.0), 2),     # page 2, the top margin
])
def test_text_outside_the_printable_area_is_refused(where: tuple[float, float], page: int) -> None:
    stray = (*where, "stray text")
    pages = [address_at(ADDRESS) + body_text(), body_text()]
    pages[page - 1].append(stray)
    assert check_precompiled(make_pdf(pages)) == RefusedLetter(precompiled.CONTENT_OUTSIDE_PRINTABLE_AREA,
                                                               (page,), pages=2)


def test_later_pages_may_use_the_whole_area_inside_the_margins() -> None:
    later = [(16.0, 6.5, "top left"), (150.0, 291.0, "bottom right"), (16.0, 60.0, "where page 1 has its window")]
    assert check_precompiled(make_pdf([address_at(ADDRESS), later])) == CheckedLetter(address_lines=ADDRESS, pages=2)


def test_page_one_may_carry_a_logo_and_a_contact_block() -> None:
    first = address_at(ADDRESS) + [(16.0, 12.0, "Department logo"), (126.0, 12.0, "PO Box 1"),
                                   (126.0, 80.0, "1 January 2027")]
    assert check_precompiled(make_pdf([first])) == CheckedLetter(address_lines=ADDRESS, pages=1)


def test_the_notify_tag_is_expected_on_page_one_but_not_after() -> None:
    tag = (3.6, 6.3, "NOTIFY")
    assert check_precompiled(make_pdf([[tag, *address_at(ADDRESS)]])) == CheckedLetter(address_lines=ADDRESS, pages=1)
    pdf = make_pdf([address_at(ADDRESS), [tag, *body_text()]])
    assert check_precompiled(pdf) == RefusedLetter(precompiled.NOTIFY_TAG_FOUND_IN_CONTENT, (2,), pages=2)


def test_a_wrong_size_is_reported_before_the_address() -> None:
    pdf = make_pdf([body_text()], page_size=US_LETTER)
    assert check_precompiled(pdf).reason == precompiled.NOT_A4_PORTRAIT  # type: ignore[union-attr]


@pytest.mark.parametrize("content", [b"not a pdf", b"%PDF-1.7 broken"])
def test_reading_the_address_of_an_unreadable_file_finds_none(content: bytes) -> None:
    assert read_address(content) == ()
    assert read_address(encrypted(valid_letter())) == ()
