"""((placeholder)) names, filling and missing personalisation."""

import pytest

from clarion.templates import MissingPersonalisation, placeholder_names, render_letter, render_sms
from clarion.templates.placeholders import as_text, shows_conditional


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        (("Hello ((name))",), ["name"]),
        (("((a)) ((b)) ((a))",), ["a", "b"]),
        (("((First Name)) ((firstname)) ((FIRST NAME))",), ["First Name"]),
        (("Subject ((b))", "Body ((a)) ((b))"), ["b", "a"]),
        (("((show??Some text))",), ["show"]),
        (("(( padded ))",), ["padded"]),
        ((None, "((x))"), ["x"]),
        (("no placeholders (here) or ((here)",), []),
        (("(((nested)))",), ["nested"]),
    ],
)
def test_placeholder_names_are_unique_in_order_of_first_appearance(texts, expected):
    assert placeholder_names(*texts) == expected


def test_missing_personalisation_lists_names_in_template_order_once():
    with pytest.raises(MissingPersonalisation) as error:
        render_sms("((b)) ((a)) ((c)) ((b))", {"c": "x"})
    assert str(error.value) == "Missing personalisation: b, a"
    assert error.value.names == ["b", "a"]


def test_missing_personalisation_is_a_value_error():
    assert issubclass(MissingPersonalisation, ValueError)


def test_none_counts_as_missing_but_empty_string_is_a_value():
    with pytest.raises(MissingPersonalisation):
        render_sms("Hi ((name))", {"name": None})
    assert render_sms("Hi ((name))", {"name": ""}).body == "Hi"


@pytest.mark.parametrize("key", ["first name", "FirstName", "first  name", "FIRST NAME"])
def test_personalisation_keys_match_ignoring_case_and_spaces(key):
    assert render_sms("Hi ((First Name))", {key: "Jo"}).body == "Hi Jo"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("yes", True), ("Y", True), ("true", True), ("T", True), ("1", True), ("include", True), ("show", True),
        (True, True), (1, True), (" Yes ", True),
        ("no", False), ("false", False), ("0", False), ("", False), ("maybe", False), (False, False), (0, False),
    ],
)
def test_conditional_text_shows_only_for_yes_like_values(value, shown):
    assert shows_conditional(value) is shown
    body = render_sms("Start((flag?? middle)) end", {"flag": value}).body
    assert body == ("Start middle end" if shown else "Start end")


def test_non_string_values_are_converted_to_text():
    assert render_sms("Pay ((amount)) by ((day))", {"amount": 12.5, "day": 3}).body == "Pay 12.5 by 3"


@pytest.mark.parametrize(
    ("value", "text"),
    [(["a"], "a"), (["a", "b"], "a and b"), (["a", "b", "c"], "a, b and c"), ([], ""), (["a", None, ""], "a")],
)
def test_list_values_read_as_a_sentence_outside_email(value, text):
    assert as_text(value) == text


def test_letters_fill_subject_and_body_without_needing_address_placeholders():
    letter = render_letter(
        "Your ((thing))\n", "Dear ((name)),\n\nHello.\n",
        {"thing": "licence", "name": "Jo", "address_line_1": "Jo", "address_line_2": "1 Road", "postcode": "SW1A 1AA"},
    )
    assert letter.subject == "Your licence"
    assert letter.body == "Dear Jo,\n\nHello."


def test_letters_still_require_their_placeholders():
    with pytest.raises(MissingPersonalisation, match="Missing personalisation: ref"):
        render_letter("Subject", "Reference ((ref))", {"address_line_1": "x"})
