"""Who is calling: API keys (Bearer) for the JSON API, a signed session cookie for the pages, CSRF on forms.

    API:    Authorization: Bearer ddk_<id>_<secret>   →  User(id="key:<id>", role=key.role, org=key.org)
    Pages:  POST /signin with the key                 →  session cookie (HttpOnly, SameSite=Lax)

The JSON API never reads the cookie, so a browser cannot be tricked into calling it cross-site; every
form post carries the session's CSRF token, checked in constant time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..cases.records import ApiKey
from ..identity import User
from .context import WebContext, get_context
from .sessions import COOKIE_NAME, Session

log = logging.getLogger(__name__)
MAX_KEY_CHARS = 200


class Unauthorized(Exception):
    """No usable credentials (missing, malformed, unknown or revoked key): HTTP 401."""


class CsrfRejected(Exception):
    """A form post without the session's CSRF token: HTTP 403."""


class SignInRequired(Exception):
    """A page needs a signed-in browser: redirect to the sign-in page."""


def user_for_key(key: ApiKey) -> User:
    """The User an API key acts as; its id names the key, so the audit trail shows which key acted."""
    return User(id=f"key:{key.key_id}", role=key.role, org=key.org, display_name=key.name)


def active_key(ctx: WebContext, key_id: str) -> ApiKey | None:
    """The key with this id if it exists and is not revoked."""
    key = ctx.service.api_keys.get(key_id)
    return key if key is not None and key.active else None


def key_names(ctx: WebContext) -> dict[str, str]:
    """`key:<id>` → the key's name and organisation, to show people rather than ids in audit trails."""
    return {f"key:{k.key_id}": f"{k.name} ({k.org})" for k in ctx.service.api_keys.list()}


def client_host(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# -- JSON API -------------------------------------------------------------------------------------------


def api_user(request: Request, ctx: Annotated[WebContext, Depends(get_context)]) -> User:
    """FastAPI dependency: the caller of a /v1 route, from its Bearer key, counted against its rate limit."""
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise Unauthorized("send your API key as 'Authorization: Bearer <key>'")
    key = ctx.service.api_keys.authenticate(presented[:MAX_KEY_CHARS])
    if key is None:
        # Failed guesses share a per-address budget, so keys cannot be tried at speed.
        ctx.limiter.hit(f"ip:{client_host(request)}")
        raise Unauthorized("the API key is unknown or has been revoked")
    ctx.limiter.hit(f"key:{key.key_id}")
    return user_for_key(key)


# -- pages ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageAuth:
    """A signed-in browser: the user and the session (for its CSRF token)."""

    user: User
    session: Session


def read_session(request: Request, ctx: WebContext) -> Session | None:
    return ctx.sessions.load(request.cookies.get(COOKIE_NAME))


def page_auth(request: Request, ctx: Annotated[WebContext, Depends(get_context)]) -> PageAuth:
    """FastAPI dependency for pages: the signed-in user, or SignInRequired."""
    session = read_session(request, ctx)
    if session is None or session.key_id is None:
        raise SignInRequired()
    key = active_key(ctx, session.key_id)
    if key is None:
        raise SignInRequired()
    ctx.limiter.hit(f"key:{key.key_id}")
    return PageAuth(user=user_for_key(key), session=session)


def require_csrf(session: Session | None, token: str) -> None:
    """Raise CsrfRejected unless `token` is this session's CSRF token."""
    if session is None or not session.csrf_matches(token):
        raise CsrfRejected("the form is missing its security token or it has expired; reload the page and retry")


def set_session_cookie(response: Response, request: Request, ctx: WebContext, session: Session) -> None:
    """Store the session in its cookie: HttpOnly, SameSite=Lax, Secure when served over HTTPS."""
    response.set_cookie(
        COOKIE_NAME,
        ctx.sessions.dump(session),
        max_age=ctx.sessions.max_age_s,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def home_for(user: User) -> str:
    """Where a user lands after signing in."""
    return "/cases" if user.role in ("compliance", "admin") else "/ask"


router = APIRouter(include_in_schema=False)


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, ctx: Annotated[WebContext, Depends(get_context)]) -> Response:
    """The sign-in form; gives the browser a session (with a CSRF token) if it has none."""
    session = read_session(request, ctx) or Session()
    response = ctx.templates.TemplateResponse(
        request, "signin.html", {"csrf": session.csrf, "user": None, "error": None}
    )
    set_session_cookie(response, request, ctx, session)
    return response


@router.post("/signin")
def signin(
    request: Request,
    ctx: Annotated[WebContext, Depends(get_context)],
    key: Annotated[str, Form(max_length=MAX_KEY_CHARS)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Check the key and start a fresh session for it (new CSRF token, so no token outlives a sign-in)."""
    require_csrf(read_session(request, ctx), csrf_token)
    ctx.limiter.hit(f"ip:{client_host(request)}")
    record = ctx.service.api_keys.authenticate(key) if key.strip() else None
    response: Response
    if record is None:
        session = Session()
        response = ctx.templates.TemplateResponse(
            request,
            "signin.html",
            {"csrf": session.csrf, "user": None, "error": "That key is unknown or has been revoked."},
            status_code=401,
        )
        set_session_cookie(response, request, ctx, session)
        return response
    log.info("signed in", extra={"key_id": record.key_id, "org": record.org, "role": record.role})
    response = RedirectResponse(home_for(user_for_key(record)), status_code=303)
    set_session_cookie(response, request, ctx, Session(key_id=record.key_id))
    return response


@router.post("/signout")
def signout(
    request: Request,
    ctx: Annotated[WebContext, Depends(get_context)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """End the session."""
    require_csrf(read_session(request, ctx), csrf_token)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE_NAME, path="/")
    return response
