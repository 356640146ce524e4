"""Text messages: prefix, whitespace, sanitising, fragments and the length limit."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clarion.templates import MessageTooLong, RenderedSms, render_sms
from clarion.templates import gsm
from clarion.templates.sms import build_sms


def test_a_rendered_message_has_its_prefix_length_and_fragments():
    assert render_sms("Hello ((name))", {"name": "Jo"}, prefix="Council") == RenderedSms(
        body="Council: Hello Jo", fragment_count=1, content_length=17
    )


def test_no_prefix_when_none_or_empty():
    assert render_sms("Hello", None, prefix=None).body == "Hello"
    assert render_sms("Hello", None, prefix="").body == "Hello"


@pytest.mark.parametrize(
    ("content", "body"),
    [
        ("  Hello   there  ", "Hello there"),
        ("Hello , world .", "Hello, world."),
        ("Hello ((name)).", "Hello."),
        ("a\n\n\n\n\nb", "a\n\nb"),
        ("a  \n   b", "a\nb"),
        ("a\r\nb", "a\nb"),
        ("tab\there", "tab here"),
        ("no\u00a0break", "no break"),
        ("zero\u200bwidth", "zerowidth"),
        ("\n\nstrip me\n\n", "strip me"),
    ],
)
def test_whitespace_is_normalised_as_notify_does(content, body):
    assert render_sms(content, {"name": ""}).body == body


@pytest.mark.parametrize(
    ("text", "sanitised"),
    [
        ("plain ascii 123 !?", "plain ascii 123 !?"),
        ("£5 or €5 {ok} [ok] ~ ^ | \\", "£5 or €5 {ok} [ok] ~ ^ | \\"),
        ("café é à ñ Ä", "café é à ñ Ä"),  # all inside GSM 03.38
        ("ŵ ŷ â ê î ô û", "ŵ ŷ â ê î ô û"),  # Welsh vowels are kept
        ("ç ł", "c ?"),  # decomposed where possible, ? otherwise
        ("‘quoted’ “twice” – em—dash …", "'quoted' \"twice\" - em-dash ..."),
        ("emoji 😀", "emoji ?"),
        ("中文", "??"),
        ("a\u200bb\ufeffc", "abc"),
        ("a\tb\u00a0c", "a b c"),
    ],
)
def test_sanitising_keeps_gsm_and_welsh_and_downgrades_the_rest(text, sanitised):
    assert gsm.sanitise(text) == sanitised


@pytest.mark.parametrize(
    ("length", "fragments"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (918, 6), (919, 7)],
)
def test_gsm_fragments(length, fragments):
    assert gsm.fragment_count("a" * length) == fragments


@pytest.mark.parametrize(
    ("length", "fragments"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_welsh_vowels_outside_gsm_switch_to_ucs2_fragments(length, fragments):
    assert gsm.fragment_count("ŵ" + "a" * (length - 1)) == fragments


def test_gsm_characters_with_accents_do_not_switch_to_ucs2():
    assert not gsm.is_ucs2("é à ñ Ä ü")
    assert gsm.is_ucs2("ŵ")


@pytest.mark.parametrize(("extensions", "fragments"), [(0, 1), (1, 2), (10, 2)])
def test_extension_characters_count_twice(extensions, fragments):
    text = "€" * extensions + "a" * (160 - extensions)
    assert gsm.fragment_count(text) == fragments


def test_fragment_count_includes_the_prefix():
    assert render_sms("a" * 160, None).fragment_count == 1
    assert render_sms("a" * 160, None, prefix="Service").fragment_count == 2


def test_messages_up_to_918_characters_are_allowed():
    assert render_sms("a" * 918, None, prefix="A long service name").fragment_count == 7


@pytest.mark.parametrize("prefix", [None, "Service"])
def test_messages_over_918_characters_are_refused_counting_without_prefix(prefix):
    with pytest.raises(MessageTooLong) as error:
        render_sms("a" * 900 + "((x))", {"x": "b" * 100}, prefix=prefix)
    assert str(error.value) == (
        "Text messages cannot be longer than 918 characters. Your message is 1000 characters long."
    )


def test_the_limit_applies_to_the_filled_normalised_message():
    assert render_sms("a" * 918 + "   ", None).content_length == 918


def test_build_sms_skips_the_length_check_for_previews():
    assert build_sms("a" * 1000, None).content_length == 1000


_ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=400)


@given(_ANY_TEXT)
def test_sanitised_text_only_contains_characters_phones_can_show(text):
    assert set(gsm.sanitise(text)) <= gsm.ALLOWED_CHARACTERS


@given(_ANY_TEXT)
def test_rendered_messages_only_contain_allowed_characters(text):
    body = build_sms(text.replace("(", "").replace(")", ""), None).body
    assert set(body) <= gsm.ALLOWED_CHARACTERS


@given(st.sampled_from("a€ŵ"), st.integers(min_value=0, max_value=1200))
def test_fragment_count_is_at_least_one_and_grows_with_length(char, length):
    shorter, longer = gsm.fragment_count(char * length), gsm.fragment_count(char * (length + 1))
    assert 1 <= shorter <= longer
