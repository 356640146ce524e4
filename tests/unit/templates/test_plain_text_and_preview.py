"""Plain-text email parts and the template preview."""

import pytest

from clarion.templates import MissingPersonalisation, email_plain_text, preview
from clarion.templates.plain_text import RULE


@pytest.mark.parametrize(
    ("markdown", "text"),
    [
        ("Plain text", "Plain text"),
        ("# Title\nBody", "Title\n-----\nBody"),
        ("* one\n- two\n• three", "• one\n• two\n• three"),
        ("^ inset", "inset"),
        ("a\n\n---\n\nb", f"a\n\n{RULE}\n\nb"),
        ("See [GOV.UK](https://www.gov.uk).", "See GOV.UK: https://www.gov.uk."),
        ("escaped \\[not a link\\] example\\.com", "escaped [not a link] example.com"),
        ("a\n\n\n\n\nb", "a\n\nb"),
    ],
)
def test_email_plain_text(markdown, text):
    assert email_plain_text(markdown) == text


def test_sms_preview_has_no_subject_or_html_and_allows_long_messages():
    result = preview("sms", None, "Hi ((name)) " + "a" * 1000, {"name": "Jo"}, prefix="Svc")
    assert result["subject"] is None and result["html"] is None
    assert result["body"].startswith("Svc: Hi Jo a")


def test_email_preview_has_subject_body_and_html():
    result = preview("email", "Hi ((name))", "Hello **((name))**", {"name": "Jo"})
    assert result == {"subject": "Hi Jo", "body": "Hello **Jo**", "html": "<p>Hello **Jo**</p>"}


def test_letter_preview_has_subject_and_body_only():
    assert preview("letter", "Re ((x))", "Body ((x))", {"x": 1}) == {"subject": "Re 1", "body": "Body 1", "html": None}


@pytest.mark.parametrize("template_type", ["sms", "email", "letter"])
def test_previews_report_missing_personalisation(template_type):
    with pytest.raises(MissingPersonalisation):
        preview(template_type, "S", "((needed))", None)


def test_unknown_template_types_are_refused():
    with pytest.raises(ValueError, match="Unknown template type"):
        preview("fax", None, "x", None)
