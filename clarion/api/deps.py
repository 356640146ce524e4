"""Typed dependencies for the API's routes, named once (style §3.3)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from clarion.api import auth
from clarion.api.context import ApiContext
from clarion.delivery.intake import Caller

__all__ = ["Api", "AuthenticatedService", "authenticate_service", "get_api"]


async def get_api(request: Request) -> ApiContext:
    """The shared objects of this API process (async: FastAPI would run a plain def in a thread)."""
    return request.app.state.api


async def authenticate_service(request: Request) -> Caller:
    """The service and API key that signed the request's JWT (Notify's rules, clarion.api.auth)."""
    api: ApiContext = request.app.state.api
    return await auth.authenticate(request.headers.get("authorization"), load_service=api.service,
                                   now_s=int(api.clock.now().timestamp()), verified=api.tokens)


Api = Annotated[ApiContext, Depends(get_api)]
AuthenticatedService = Annotated[Caller, Depends(authenticate_service)]
