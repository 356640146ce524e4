"""Every API error becomes Notify's body in one place: a table from exception class to (status, name).

`{"status_code": N, "errors": [{"error": "<name>", "message": "<text>"}]}`. Lower layers raise their
own exceptions (clarion.delivery.intake, clarion.templates) and never import FastAPI; this module
maps them. Malformed bodies, unknown routes and wrong methods get the same shape, and anything
unexpected is logged with its traceback and answered "Internal server error" by `CatchAllMiddleware`,
never with the exception's text.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clarion import templates
from clarion.api.auth import AuthError
from clarion.api.responses import JsonResponse, notify_error_body
from clarion.delivery import intake
from clarion.letters import StorageError

__all__ = [
    "BadRequest", "CatchAllMiddleware", "InvalidJson", "NOTIFY_ERRORS", "NoResultFound", "PDFNotReady",
    "install_error_handlers", "render_notify_error",
]

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error the API layer itself raises; str() is the message."""


class NoResultFound(ApiError):
    """The id names nothing this service can see."""

    def __init__(self) -> None:
        super().__init__("No result found")


class InvalidJson(ApiError):
    """The body is not JSON."""

    def __init__(self) -> None:
        super().__init__("Invalid JSON supplied in POST data")


class BadRequest(ApiError):
    """A request that cannot be served as asked; the message says why."""


class PDFNotReady(BadRequest):
    """The letter's PDF does not exist yet."""

    def __init__(self) -> None:
        super().__init__("PDF not available yet, try again later")


# None as the status means "the exception carries it" (AuthError: 401 or 403).
NOTIFY_ERRORS: dict[type[Exception], tuple[int | None, str]] = {
    AuthError: (None, "AuthError"),
    intake.RequestInvalid: (400, "ValidationError"),
    intake.LettersNotAllowed: (403, "BadRequestError"),
    intake.CannotSend: (400, "BadRequestError"),
    intake.RateLimitExceeded: (429, "RateLimitError"),
    intake.DailyLimitExceeded: (429, "TooManyRequestsError"),
    templates.MissingPersonalisation: (400, "BadRequestError"),
    templates.MessageTooLong: (400, "BadRequestError"),
    templates.EmailTooLarge: (400, "BadRequestError"),
    NoResultFound: (404, "NoResultFound"),
    InvalidJson: (400, "BadRequestError"),
    PDFNotReady: (400, "PDFNotReadyError"),
    BadRequest: (400, "BadRequestError"),
    StorageError: (503, "ServiceUnavailable"),  # the letter store failed: nothing was accepted; send again
}
HTTP_ERROR_NAMES = {404: "NotFound", 405: "MethodNotAllowed", 413: "RequestEntityTooLarge"}
HTTP_ERROR_MESSAGES = {
    404: "The requested URL was not found on the server",
    405: "The method is not allowed for the requested URL",
}
INTERNAL_ERROR = notify_error_body(500, [{"error": "Exception", "message": "Internal server error"}])


def error_response(status_code: int, name: str, messages: list[str]) -> JsonResponse:
    """Notify's error body, one entry per message."""
    errors = [{"error": name, "message": message} for message in messages]
    return JsonResponse(notify_error_body(status_code, errors), status_code=status_code)


async def render_notify_error(request: Request, exc: Exception) -> Response:
    """The Notify body for an exception in the table."""
    status_code, name = next(NOTIFY_ERRORS[c] for c in type(exc).__mro__ if c in NOTIFY_ERRORS)
    if status_code is None:
        status_code = getattr(exc, "status_code", 400)
    messages = exc.messages if isinstance(exc, intake.RequestInvalid) else [str(exc)]
    log.info("request refused", extra={"status": status_code, "error": name, "path": request.url.path})
    return error_response(status_code, name, messages)


async def render_validation_error(request: Request, exc: Exception) -> Response:
    """FastAPI's own validation failures, said the Notify way."""
    messages = []
    for problem in getattr(exc, "errors", lambda: [])():
        where = ".".join(str(part) for part in problem.get("loc", ())[1:])
        messages.append(f"{where} {problem.get('msg', 'is not valid')}".strip())
    return error_response(400, "ValidationError", messages or ["the request is not valid"])


async def render_http_error(request: Request, exc: Exception) -> Response:
    """Unknown routes, wrong methods and other HTTP errors in Notify's shape."""
    status_code = getattr(exc, "status_code", 500)
    name = HTTP_ERROR_NAMES.get(status_code, "HTTPError")
    message = HTTP_ERROR_MESSAGES.get(status_code) or str(getattr(exc, "detail", "") or "HTTP error")
    response = error_response(status_code, name, [message])
    for header, value in (getattr(exc, "headers", None) or {}).items():
        response.headers[header] = value
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Register every mapping above, FastAPI's validation errors and HTTP errors."""
    for exc_type in NOTIFY_ERRORS:
        app.add_exception_handler(exc_type, render_notify_error)
    app.add_exception_handler(RequestValidationError, render_validation_error)
    app.add_exception_handler(HTTPException, render_http_error)


class CatchAllMiddleware:
    """The last resort: log the traceback and answer 500 "Internal server error" in Notify's shape."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = [False]

        async def note_start(message: Message) -> None:
            if message["type"] == "http.response.start":
                started[0] = True
            await send(message)

        try:
            await self.app(scope, receive, note_start)
        except Exception:
            log.exception("unhandled error", extra={"path": scope.get("path"), "method": scope.get("method")})
            if started[0]:
                raise
            body: Any = orjson.dumps(INTERNAL_ERROR)
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
