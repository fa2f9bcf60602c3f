"""Who is calling: API keys (Bearer) for the JSON API, a signed session cookie for the pages, CSRF on forms.

    API:    Authorization: Bearer ddk_<id>_<secret>   →  User(id="key:<id>", role=key.role, org=key.org)
    Pages:  POST /signin with the key                 →  session cookie (HttpOnly, SameSite=Lax,
                                                         `__Host-` and Secure over HTTPS)

The JSON API never reads the cookie, so a browser cannot be tricked into calling it cross-site; every
form post carries the session's CSRF token, checked in constant time.

Rate-limit budgets, per minute (ASSISTANT_RATE_LIMIT_PER_MINUTE each):
    key:<id>                requests of one key (API and pages)
    api-auth-failures:<ip>  wrong Bearer keys from one address; checked before any key is looked at
    signin:<ip>             sign-in attempts from one address
Wrong API keys and sign-ins have separate budgets, so a script trying keys cannot lock the people behind
the same address out of sign-in. Behind a proxy, <ip> is the client's only when uvicorn trusts the proxy
(FORWARDED_ALLOW_IPS); otherwise every client shares the proxy's budget.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..errors import CsrfRejected, SignInRequired, Unauthorized
from ..identity import User
from .context import WebContext, get_context
from .sessions import Session, cookie_name

log = logging.getLogger(__name__)
MAX_KEY_CHARS = 200


def client_host(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# -- JSON API -------------------------------------------------------------------------------------------


def api_user(request: Request, ctx: Annotated[WebContext, Depends(get_context)]) -> User:
    """FastAPI dependency: the caller of a /v1 route, from its Bearer key, counted against its rate limit."""
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise Unauthorized("send your API key as 'Authorization: Bearer <key>'")
    # Failed guesses share a per-address budget, so keys cannot be tried at speed. It is checked before
    # the key is looked at: over budget, a right guess gets the same 429 as a wrong one.
    failures = f"api-auth-failures:{client_host(request)}"
    ctx.limiter.check(failures)
    found = ctx.service.authenticate_key(presented[:MAX_KEY_CHARS])
    if found is None:
        ctx.limiter.hit(failures)
        raise Unauthorized("the API key is unknown or has been revoked")
    user, key = found
    ctx.limiter.hit(f"key:{key.key_id}")
    return user


# -- pages ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageAuth:
    """A signed-in browser: the user and the session (for its CSRF token)."""

    user: User
    session: Session


def secure_cookie(request: Request, ctx: WebContext) -> bool:
    """Whether the session cookie is Secure (and `__Host-` named): over HTTPS, or always when forced."""
    return ctx.settings.cookie_secure or request.url.scheme == "https"


def read_session(request: Request, ctx: WebContext) -> Session | None:
    """The session in this request's cookie; over HTTPS only the `__Host-` cookie counts."""
    return ctx.sessions.load(request.cookies.get(cookie_name(secure_cookie(request, ctx))))


def page_auth(request: Request, ctx: Annotated[WebContext, Depends(get_context)]) -> PageAuth:
    """FastAPI dependency for pages: the signed-in user, or SignInRequired."""
    session = read_session(request, ctx)
    if session is None or session.key_id is None:
        raise SignInRequired()
    found = ctx.service.active_key(session.key_id)
    if found is None or found[1].session_version != session.version:
        # Revoked, or signed out since this cookie was issued (copies of the cookie included).
        raise SignInRequired()
    user, key = found
    ctx.limiter.hit(f"key:{key.key_id}")
    return PageAuth(user=user, session=session)


def require_csrf(session: Session | None, token: str) -> None:
    """Raise CsrfRejected unless `token` is this session's CSRF token."""
    if session is None or not session.csrf_matches(token):
        raise CsrfRejected("the form is missing its security token or it has expired; reload the page and retry")


def set_session_cookie(response: Response, request: Request, ctx: WebContext, session: Session) -> None:
    """Store the session in its cookie: HttpOnly, SameSite=Lax, Path=/ and no Domain; over HTTPS (or
    with ASSISTANT_COOKIE_SECURE) Secure and named `__Host-dd_session`."""
    secure = secure_cookie(request, ctx)
    response.set_cookie(
        cookie_name(secure),
        ctx.sessions.dump(session),
        max_age=ctx.sessions.max_age_s,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )


def home_for(user: User) -> str:
    """Where a user lands after signing in."""
    return "/cases" if user.is_decider else "/ask"


router = APIRouter(include_in_schema=False)


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, ctx: Annotated[WebContext, Depends(get_context)]) -> Response:
    """The sign-in form; gives the browser a session (with a CSRF token) if it has none."""
    existing = read_session(request, ctx)
    session = existing or Session()
    response = ctx.templates.TemplateResponse(
        request, "signin.html", {"csrf": session.csrf, "user": None, "error": None}
    )
    if existing is None:
        # Re-issuing an existing session's cookie would push its expiry out on every visit.
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
    ctx.limiter.hit(f"signin:{client_host(request)}")
    found = ctx.service.authenticate_key(key) if key.strip() else None
    response: Response
    if found is None:
        session = Session()
        response = ctx.templates.TemplateResponse(
            request,
            "signin.html",
            {"csrf": session.csrf, "user": None, "error": "That key is unknown or has been revoked."},
            status_code=401,
        )
        set_session_cookie(response, request, ctx, session)
        return response
    user, record = found
    log.info("signed in", extra={"key_id": record.key_id, "org": record.org, "role": record.role})
    response = RedirectResponse(home_for(user), status_code=303)
    set_session_cookie(response, request, ctx, Session(key_id=record.key_id, version=record.session_version))
    return response


@router.post("/signout")
def signout(
    request: Request,
    ctx: Annotated[WebContext, Depends(get_context)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """End the session, and every other session of the same key: a copied cookie stops working too."""
    session = read_session(request, ctx)
    require_csrf(session, csrf_token)
    if session is not None and session.key_id is not None:
        found = ctx.service.active_key(session.key_id)
        # Only a current session may end the others; an already ended cookie changes nothing.
        if found is not None and found[1].session_version == session.version:
            key = found[1]
            ctx.service.end_sessions(key.key_id)
            log.info("signed out", extra={"key_id": key.key_id})
    response = RedirectResponse("/signin", status_code=303)
    secure = secure_cookie(request, ctx)
    response.delete_cookie(cookie_name(secure), path="/", secure=secure, httponly=True, samesite="lax")
    return response
