"""POST /v2/notifications/letter (template and precompiled) and GET /v2/notifications/{id}/pdf through
the real app: Notify's bodies and errors, the stored row and PDF, and the prepare queue."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from celery import Celery
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from clarion.db.models import Notification
from clarion.letters import LetterStores, letter_key
from clarion.letters.precompiled import read_address
from clarion.worker.queues import CREATE_LETTERS_PDF_QUEUE
from tests.unit.api.conftest import ApiClient, drain_queue, error_of, messages_of, wait_for
from tests.unit.letter_pipeline.conftest import PostLetter, Prepare
from tests.unit.letters.pdfs import US_LETTER, address_at, body_text, make_pdf, valid_letter

NOT_READY = {"error": "PDFNotReadyError", "message": "PDF not available yet, try again later"}


def stored(sessions: sessionmaker[Session]) -> list[Notification]:
    with sessions() as session:
        return list(session.scalars(select(Notification)))


def queued_for_preparing(celery_app: Celery, count: int = 1) -> list[str]:
    """The ids put on the prepare queue (the enqueue batcher sends them a moment after the 201)."""
    ids: list[str] = []
    assert wait_for(lambda: bool(ids.extend(i for task, batch in drain_queue(celery_app, CREATE_LETTERS_PDF_QUEUE)
                                            if task == "prepare_letters" for i in batch)) or len(ids) >= count)
    return ids


def test_a_template_letter_is_stored_with_its_address_tidied_and_queued_to_be_rendered(
        post_template_letter: PostLetter, sessions: sessionmaker[Session], celery_app: Celery) -> None:
    reply = post_template_letter(address_line_1="Ann  Example", address_line_2="1 High Street,",
                                 address_line_3="sw1a1aa")
    assert reply.status_code == 201, reply.text
    [row] = stored(sessions)
    assert (row.status, row.postage, row.billable_units) == ("created", "second", 0)
    assert row.to == "Ann Example\n1 High Street\nSW1A 1AA"
    assert row.reference is not None and len(row.reference) == 16  # DVLA's businessIdentifier
    assert queued_for_preparing(celery_app) == [str(row.id)]


@pytest.mark.parametrize(("address", "message"), [
    ({"address_line_1": "Ann", "address_line_2": "1 High Street", "address_line_3": "not a postcode"},
     "Must be a real UK postcode"),
    ({"address_line_1": "Ann", "address_line_2": "1 Rue de Rivoli", "address_line_3": "France"},
     "Must be a real UK postcode"),
    ({"address_line_1": "<Ann>", "address_line_2": "1 High Street", "address_line_3": "SW1A 1AA"},
     "Address lines must not start with any of the following characters: @ ( ) = [ ] ” \\ / , < >"),
    ({"address_line_1": "Ann", "address_line_2": "No fixed abode", "address_line_3": "SW1A 1AA"},
     "Must be a real address"),
    ({"address_line_1": "Sgt A", "address_line_2": "BFPO 123", "address_line_3": "Germany"},
     "The last line of a BFPO address must not be a country."),
])
def test_a_letter_to_a_bad_address_gets_notifys_error_and_nothing_is_stored(
        post_template_letter: PostLetter, sessions: sessionmaker[Session], address: dict[str, str],
        message: str) -> None:
    assert error_of(post_template_letter(**address), 400) == {"error": "ValidationError", "message": message}
    assert stored(sessions) == []


@pytest.mark.parametrize(("country", "postage"), [("France", "europe"), ("New Zealand", "rest-of-world")])
def test_a_service_allowed_to_post_abroad_gets_the_countrys_postage(
        post_template_letter: PostLetter, change_service: Any, sessions: sessionmaker[Session], country: str,
        postage: str) -> None:
    change_service(permissions=["sms", "email", "letter", "international_letters"])
    reply = post_template_letter(address_line_1="Ann", address_line_2="1 Some Street", address_line_3=country)
    assert reply.status_code == 201, reply.text
    [row] = stored(sessions)
    assert (row.postage, row.to.splitlines()[-1]) == (postage, country)
    with_permission_bad = post_template_letter(address_line_1="Ann", address_line_2="1 Street",
                                               address_line_3="Atlantis")
    assert error_of(with_permission_bad, 400)["message"] == (
        "Last line of address must be a real UK postcode or another country")


def test_a_precompiled_letter_is_kept_for_its_virus_check_and_queued(
        post_precompiled: PostLetter, sessions: sessionmaker[Session], stores: LetterStores,
        celery_app: Celery) -> None:
    pdf = valid_letter()
    reply = post_precompiled(pdf, reference="invoice-7", postage="first")
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body == {"id": body["id"], "reference": "invoice-7", "postage": "first"}
    [row] = stored(sessions)
    assert (str(row.id), row.status, row.client_reference, row.postage) == (
        body["id"], "pending-virus-check", "invoice-7", "first")
    assert (row.to, row.subject, row.billable_units) == ("Provided as PDF", "Pre-compiled PDF", 0)
    assert stores.scan.get(letter_key(row.id)) == pdf
    assert not stores.pdf.exists(letter_key(row.id))
    assert queued_for_preparing(celery_app) == [body["id"]]


def test_a_precompiled_letter_without_postage_goes_second_class(post_precompiled: PostLetter) -> None:
    assert post_precompiled(valid_letter()).json()["postage"] == "second"


@pytest.mark.parametrize(("body", "messages"), [
    ({"content": "JVBERi0="}, ["reference is a required property"]),
    ({"reference": "x", "content": None}, ["content None is not of type string"]),
    ({"reference": 5, "content": "JVBERi0="}, ["reference 5 is not of type string"]),
    ({"reference": "x", "content": "JVBERi0=", "postage": "europe"},
     ["postage invalid. It must be either first, second or economy."]),
    ({"reference": "x", "content": "JVBERi0=", "template_id": str(uuid.uuid4())},
     ["Additional properties are not allowed (template_id was unexpected)"]),
])
def test_a_bad_precompiled_body_gets_notifys_validation_errors(api: ApiClient, sessions: sessionmaker[Session],
                                                             body: dict[str, Any], messages: list[str]) -> None:
    reply = api.post("/v2/notifications/letter", body)
    assert messages_of(reply) == messages
    assert reply.json()["errors"][0]["error"] == "ValidationError"
    assert stored(sessions) == []


def test_content_that_is_not_base64_is_refused_and_nothing_is_kept(api: ApiClient, sessions: sessionmaker[Session],
                                                                    stores: LetterStores) -> None:
    reply = api.post("/v2/notifications/letter", {"reference": "x", "content": "not base64!"})
    assert error_of(reply, 400) == {"error": "BadRequestError",
                                   "message": "Cannot decode letter content (invalid base64 encoding)"}
    assert stored(sessions) == []
    assert not any(stores.scan.folder.glob("*.pdf"))  # type: ignore[attr-defined]


@pytest.mark.parametrize(("key", "restricted", "message"), [
    ("team", False, "Cannot send letters with a team api key"),
    ("normal", True, "Cannot send letters when service is in trial mode"),
])
def test_precompiled_letters_follow_the_letter_key_rules(post_precompiled: PostLetter, change_service: Any,
                                                         key: str, restricted: bool, message: str) -> None:
    change_service(restricted=restricted)
    assert error_of(post_precompiled(valid_letter(), key=key), 403) == {"error": "BadRequestError",
                                                                       "message": message}


def test_the_pdf_is_not_ready_until_the_letter_is_prepared_then_it_is_served(
        post_template_letter: PostLetter, api: ApiClient, prepare: Prepare) -> None:
    letter_id = post_template_letter().json()["id"]
    assert error_of(api.get(f"/v2/notifications/{letter_id}/pdf"), 400) == NOT_READY
    prepare(letter_id)
    reply = api.get(f"/v2/notifications/{letter_id}/pdf")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/pdf"
    assert read_address(reply.content) == ("Ann Example", "1 High Street", "SW1A 1AA")


def test_a_precompiled_pdf_is_not_ready_while_it_waits_for_its_check(post_precompiled: PostLetter, api: ApiClient,
                                                                     prepare: Prepare) -> None:
    pdf = valid_letter()
    letter_id = post_precompiled(pdf).json()["id"]
    assert error_of(api.get(f"/v2/notifications/{letter_id}/pdf"), 400) == NOT_READY
    prepare(letter_id)
    assert api.get(f"/v2/notifications/{letter_id}/pdf").content == pdf


def test_a_refused_precompiled_letter_serves_the_pdf_it_sent(post_precompiled: PostLetter, api: ApiClient,
                                                             prepare: Prepare) -> None:
    not_a4 = make_pdf([address_at(("Ann", "1 High Street", "SW1A 1AA")) + body_text()], page_size=US_LETTER)
    letter_id = post_precompiled(not_a4).json()["id"]
    prepare(letter_id)
    read = api.get(f"/v2/notifications/{letter_id}").json()
    assert read["status"] == "validation-failed"
    assert api.get(f"/v2/notifications/{letter_id}/pdf").content == not_a4


def test_a_test_key_letter_gets_a_pdf_too(post_template_letter: PostLetter, api: ApiClient, prepare: Prepare) -> None:
    letter_id = post_template_letter(key="test").json()["id"]
    prepare(letter_id)
    assert api.get(f"/v2/notifications/{letter_id}", key="test").json()["status"] == "received"
    assert read_address(api.get(f"/v2/notifications/{letter_id}/pdf", key="test").content)[0] == "Ann Example"


def test_content_base64_with_line_breaks_is_read_as_base64_decoders_read_it(
        post_precompiled: PostLetter, api: ApiClient, stores: LetterStores) -> None:
    pdf = valid_letter()
    wrapped = base64.encodebytes(pdf).decode("ascii")  # 76-character lines, as MIME encoders write
    reply = api.post("/v2/notifications/letter", {"reference": "x", "content": wrapped})
    assert reply.status_code == 201, reply.text
    assert stores.scan.get(letter_key(uuid.UUID(reply.json()["id"]))) == pdf
