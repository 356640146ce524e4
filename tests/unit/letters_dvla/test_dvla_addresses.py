"""The three address shapes of a DVLA print job, their limits, and the despatch method of each postage."""

from __future__ import annotations

from typing import Any

import pytest

from clarion.providers.letter.addresses import InvalidPrintAddress, print_address
from clarion.providers.letter.despatch import POSTAGE_CLASSES, UnknownPostage, despatch_method


@pytest.mark.parametrize(("lines", "postage", "expected"), [
    (["Ms A Person", "1 High Street", "Leeds", "LS1 1AA"], "second",
     {"unstructuredAddress": {"line1": "1 High Street", "line2": "Leeds", "postcode": "LS1 1AA"}}),
    (["A", "l1", "l2", "l3", "l4", "l5", "SW1A 1AA"], "first",
     {"unstructuredAddress": {"line1": "l1", "line2": "l2", "line3": "l3", "line4": "l4", "line5": "l5",
                              "postcode": "SW1A 1AA"}}),
    (["Herr A Person", "Hauptstrasse 1", "10115 Berlin", "Germany"], "europe",
     {"internationalAddress": {"line1": "Hauptstrasse 1", "line2": "10115 Berlin", "country": "Germany"}}),
    (["A Person", "1 Road", "Sydney", "Australia"], "rest-of-world",
     {"internationalAddress": {"line1": "1 Road", "line2": "Sydney", "country": "Australia"}}),
    (["Cpl A Person", "Unit 1", "BF1 4AB", "BFPO 2"], "second",
     {"bfpoAddress": {"line1": "Cpl A Person", "line2": "Unit 1", "postcode": "BF1 4AB", "bfpoNumber": 2}}),
    (["Cpl A Person", "Unit 1", "bfpo c/o 107"], "second",
     {"bfpoAddress": {"line1": "Cpl A Person", "line2": "Unit 1", "bfpoNumber": 107}}),
])
def test_the_address_takes_the_shape_its_lines_and_postage_call_for(lines: list[str], postage: str,
                                                                    expected: dict[str, Any]) -> None:
    recipient, address = print_address(lines, postage)
    assert recipient == lines[0]
    assert address == expected


def test_postcode_country_and_other_lines_are_cut_to_dvlas_limits() -> None:
    _, uk = print_address(["A", "x" * 46, "SW1A 1AA EXTRA TEXT"], "second")
    assert uk == {"unstructuredAddress": {"line1": "x" * 45, "postcode": "SW1A 1AA E"}}
    _, abroad = print_address(["A", "y" * 50, "z" * 257], "europe")
    assert abroad == {"internationalAddress": {"line1": "y" * 45, "country": "z" * 256}}
    _, bfpo = print_address(["r" * 50, "BFPO 9"], "second")
    assert bfpo == {"bfpoAddress": {"line1": "r" * 45, "bfpoNumber": 9}}


def test_a_bfpo_address_keeps_its_first_four_lines_as_the_shape_has_no_fifth() -> None:
    _, address = print_address(["Cpl A", "l2", "l3", "l4", "l5", "BF1 4AB", "BFPO 2"], "second")
    assert address == {"bfpoAddress": {"line1": "Cpl A", "line2": "l2", "line3": "l3", "line4": "l4",
                                       "postcode": "BF1 4AB", "bfpoNumber": 2}}


def test_the_recipient_name_is_cut_at_255_characters() -> None:
    recipient, _ = print_address(["n" * 300, "1 Road", "LS1 1AA"], "second")
    assert recipient == "n" * 255


def test_blank_lines_are_ignored() -> None:
    recipient, address = print_address(["", "A Person", "  ", "1 Road", "LS1 1AA", ""], "second")
    assert recipient == "A Person"
    assert address == {"unstructuredAddress": {"line1": "1 Road", "postcode": "LS1 1AA"}}


@pytest.mark.parametrize(("lines", "postage", "message"), [
    ([], "second", "no address lines"),
    (["Only a name"], "second", "postcode"),
    (["Only a name"], "europe", "country"),
    (["A", "1", "2", "3", "4", "5", "6", "LS1 1AA"], "second", "at most 5"),
    (["BFPO 12"], "second", "recipient"),
])
def test_an_address_no_shape_can_hold_is_refused_with_the_reason(lines: list[str], postage: str,
                                                                 message: str) -> None:
    with pytest.raises(InvalidPrintAddress, match=message):
        print_address(lines, postage)


@pytest.mark.parametrize(("postage", "method"), [
    ("first", "FIRST"), ("second", None), ("economy", "ECONOMY"),
    ("europe", "INTERNATIONAL_EU"), ("rest-of-world", "INTERNATIONAL_ROW"),
])
def test_each_postage_has_its_despatch_method(postage: str, method: str | None) -> None:
    assert despatch_method(postage) == method


def test_every_postage_class_is_mapped_and_no_other() -> None:
    for postage in POSTAGE_CLASSES:
        despatch_method(postage)
    with pytest.raises(UnknownPostage, match="'1st'"):
        despatch_method("1st")
