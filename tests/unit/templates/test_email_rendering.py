"""Emails: subject line, markdown body, HTML, sanitised personalisation and the size limit."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clarion.templates import EMAIL_SIZE_LIMIT_BYTES, EmailTooLarge, MissingPersonalisation, render_email


def test_subject_is_filled_and_kept_on_one_line():
    email = render_email("Hello ((name))\n  again", "Body", {"name": "Jo\nBloggs"})
    assert email.subject == "Hello Jo Bloggs again"


def test_body_is_the_filled_markdown_source():
    email = render_email("S", "# Heading\n\nHi ((name)), **welcome**\n", {"name": "<Jo>"})
    assert email.body == "# Heading\n\nHi <Jo>, **welcome**"


def test_missing_personalisation_covers_subject_and_body():
    with pytest.raises(MissingPersonalisation, match="Missing personalisation: a, b"):
        render_email("((a))", "((b)) ((a))", {})


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("# Title", "<h1>Title</h1>"),
        ("Line one\nline two", "Line one<br>\nline two"),
        ("* one\n* two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>"),
        ("- one\n- two", "<li>one</li>"),
        ("• one\n• two", "<li>one</li>"),
        ("1. one\n2. two", "<ol>\n<li>one</li>"),
        ("^ Inset text", "<blockquote>\n<p>Inset text</p>\n</blockquote>"),
        ("a\n\n---\n\nb", "<hr>"),
        ("[GOV.UK](https://www.gov.uk)", '<a href="https://www.gov.uk">GOV.UK</a>'),
        ("Visit https://www.gov.uk/x?a=1&b=2.",
         '<a href="https://www.gov.uk/x?a=1&amp;b=2">https://www.gov.uk/x?a=1&amp;b=2</a>.'),
        ("user_name and *stars*", "user_name and *stars*"),
        ("`code` stays", "`code` stays"),
        ("    indented is not code", "<p>indented is not code</p>"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ],
)
def test_notify_markdown_becomes_html(content, fragment):
    assert fragment in render_email("S", content, None).html


def test_personalisation_is_html_escaped_in_html_only():
    email = render_email("S", "Hi ((name))", {"name": "<b>Jo</b> & co"})
    assert email.html == "<p>Hi &lt;b&gt;Jo&lt;/b&gt; &amp; co</p>"
    assert email.body == "Hi <b>Jo</b> & co"


def test_list_values_become_bulleted_lists():
    email = render_email("S", "Bring:\n\n((items))", {"items": ["passport", "photo"]})
    assert "<li>passport</li>" in email.html and "<li>photo</li>" in email.html


def test_conditional_text_is_rendered_as_markdown():
    email = render_email("S", "Start\n\n((late??# You are late))", {"late": "yes"})
    assert "<h1>You are late</h1>" in email.html


def test_values_not_named_for_sanitising_keep_their_markdown():
    email = render_email("S", "((link))", {"link": "[click](https://evil.example)"})
    assert '<a href="https://evil.example">click</a>' in email.html
    assert email.sanitised is False


def test_sanitised_values_lose_their_markup_and_links():
    email = render_email(
        "Hi ((name))", "Hello ((name))", {"name": "[click](https://evil.example) # *x*"},
        sanitise_content_for=["name"],
    )
    assert "<a" not in email.html and "<h1" not in email.html
    assert "[click](https:\u200b//evil.\u200bexample) # *x*" in email.html
    assert email.sanitised is True
    assert email.subject == "Hi [click](https://evil.example) # *x*"


@pytest.mark.parametrize(
    ("value", "changed"),
    [
        ("Jo Bloggs", False), ("Mr. Smith", False), ("£1.50", False), ("a_b *c*", False), (42, False),
        ("example.com", True), ("https://x", True), ("[x]", True), ("# x", True), ("1. x", True), ("a\n- b", True),
    ],
)
def test_sanitised_flag_says_whether_anything_changed(value, changed):
    email = render_email("S", "((name))", {"name": value}, sanitise_content_for=["Name"])
    assert email.sanitised is changed


def test_sanitising_breaks_bare_domains():
    email = render_email("S", "((site))", {"site": "www.example.com"}, sanitise_content_for=["site"])
    assert "www.\u200bexample.\u200bcom" in email.html
    assert "<a" not in email.html


def test_emails_over_the_size_limit_are_refused():
    with pytest.raises(EmailTooLarge, match=f"cannot be longer than {EMAIL_SIZE_LIMIT_BYTES} bytes"):
        render_email("S", "((big))", {"big": "é" * (EMAIL_SIZE_LIMIT_BYTES // 2 + 1)})


def test_emails_at_the_size_limit_are_allowed():
    assert len(render_email("S", "((big))", {"big": "a" * EMAIL_SIZE_LIMIT_BYTES}).body) == EMAIL_SIZE_LIMIT_BYTES


_RENDERER_TAGS = {"p", "br", "a", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "hr"}
_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)")


@given(st.text(max_size=200))
def test_no_personalisation_value_can_add_its_own_html_tags(value):
    html = render_email("S", "x ((v)) y", {"v": value}).html
    assert set(_TAG.findall(html)) <= _RENDERER_TAGS


@given(st.text(max_size=200))
def test_sanitised_values_never_become_links_headings_or_lists(value):
    html = render_email("S", "x ((v)) y", {"v": value}, sanitise_content_for=["v"]).html
    assert set(_TAG.findall(html)) <= {"p", "br"}
