"""A letter body's markdown splits into the blocks Notify's letters know."""

from __future__ import annotations

import pytest

from clarion.letters.blocks import Block, inline_markup, parse_blocks


def test_paragraphs_are_separated_by_blank_lines_and_keep_their_line_breaks() -> None:
    assert parse_blocks("Dear Ada,\nThanks.\n\n\nYours") == [
        Block("paragraph", ("Dear Ada,", "Thanks.")), Block("paragraph", ("Yours",))]


@pytest.mark.parametrize(("line", "kind", "text"), [
    ("# Heading", "heading", "Heading"),
    ("#Heading", "heading", "Heading"),
    ("## Subheading", "subheading", "Subheading"),
    ("### Smaller", "paragraph", "Smaller"),
])
def test_headings(line: str, kind: str, text: str) -> None:
    assert parse_blocks(f"Intro\n{line}\nAfter") == [
        Block("paragraph", ("Intro",)), Block(kind, (text,)), Block("paragraph", ("After",))]


@pytest.mark.parametrize("marker", ["*", "-", "•"])
def test_bullets_with_every_marker_and_their_continuation_lines(marker: str) -> None:
    assert parse_blocks(f"{marker} one\n{marker} two\n  still two\n\nAfter") == [
        Block("bullet", ("one",)), Block("bullet", ("two", "still two")), Block("paragraph", ("After",))]


def test_numbered_items_keep_their_numbers() -> None:
    assert parse_blocks("1. first\n2. second\n10. tenth") == [
        Block("numbered", ("first",), 1), Block("numbered", ("second",), 2), Block("numbered", ("tenth",), 10)]


@pytest.mark.parametrize("rule", ["***", "---", "___", "* * *", "- - - -"])
def test_a_rule_is_a_page_break(rule: str) -> None:
    assert parse_blocks(f"Before\n{rule}\nAfter") == [
        Block("paragraph", ("Before",)), Block("page_break"), Block("paragraph", ("After",))]


def test_inset_text_prints_as_a_plain_paragraph() -> None:
    assert parse_blocks("^ Important: bring this letter") == [Block("paragraph", ("Important: bring this letter",))]


def test_windows_line_endings_are_understood() -> None:
    assert parse_blocks("One\r\n\r\nTwo") == [Block("paragraph", ("One",)), Block("paragraph", ("Two",))]


def test_an_empty_body_has_no_blocks() -> None:
    assert parse_blocks("  \n\n ") == []


@pytest.mark.parametrize(("text", "markup"), [
    ("plain", "plain"),
    ("**bold** and not**", "<b>bold</b> and not**"),
    ("a ** b ** c", "a ** b ** c"),
    ("[guidance](https://www.gov.uk/x)", "guidance: https://www.gov.uk/x"),
    ("<b>typed</b> & co", "&lt;b&gt;typed&lt;/b&gt; &amp; co"),
    ("&amp;", "&amp;amp;"),
])
def test_inline_markup_escapes_what_was_typed_then_applies_bold_and_links(text: str, markup: str) -> None:
    assert inline_markup(text) == markup
