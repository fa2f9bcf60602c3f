"""The web app factory: routes, middleware and the mapping of errors to HTTP answers.

    app = create_web_app(service, settings)

Errors: API clients (and anything not asking for HTML) get problem+json; browsers on pages get a
small HTML page with the same status. Project errors map as follows:

    NotFound → 404    PermissionDenied → 403    InvalidTransition → 409    IdempotencyConflict → 422
    OverBudget → 429  other BadInput → 400
    Unauthorized → 401    CsrfRejected → 403    RateLimited → 429 (Retry-After)    body too large → 413
    validation errors → 422 (with `errors`)    anything unexpected → 500 (logged, never shown)
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Settings
from ..enums import LEVEL_LABELS
from ..errors import (
    AssistantError,
    BadInput,
    CsrfRejected,
    IdempotencyConflict,
    InvalidTransition,
    NotFound,
    OverBudget,
    PermissionDenied,
    RateLimited,
    SignInRequired,
    Unauthorized,
)
from ..service import AssistantService
from . import api, auth, pages
from .context import WebContext
from .limits import BodySizeLimit, RateLimiter
from .problems import problem
from .sessions import SessionCodec, checked_secret

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        b"form-action 'self'; frame-ancestors 'none'",
    ),
]


def create_web_app(service: AssistantService, settings: Settings, *, dev: bool = False) -> FastAPI:
    """The FastAPI app over `service`: the /v1 JSON API, the pages, /healthz and static files.

    Refuses (ConfigError) to start with an empty or placeholder ASSISTANT_SESSION_SECRET unless `dev`
    is set, in which case a random secret is used for this process.
    """
    secret = checked_secret(settings.session_secret.get_secret_value(), dev=dev)
    app = FastAPI(
        title="Partner due-diligence guidance assistant",
        version="1",
        openapi_url="/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["level_labels"] = LEVEL_LABELS
    app.state.ctx = WebContext(
        service=service,
        settings=settings,
        templates=templates,
        limiter=RateLimiter(settings.rate_limit_per_minute),
        sessions=SessionCodec(secret),
    )
    app.include_router(api.router)
    app.include_router(api.health_router)
    app.include_router(auth.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    _install_error_handlers(app)
    _mount_slack(app, service, settings)
    # Added last so it runs first: an oversized body is refused before any route reads it.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(NoStore)
    return app


def _mount_slack(app: FastAPI, service: AssistantService, settings: Settings) -> None:
    """Serve the Slack app's HTTP events at /slack/events when a signing secret is configured.

    The Slack package is optional: when it is not installed, the web app runs without it.
    """
    if not settings.slack_signing_secret:
        return
    try:
        factory = importlib.import_module("..slack", __package__).create_slack_asgi
    except (ImportError, AttributeError):
        log.info("SLACK_SIGNING_SECRET is set but the Slack package is not available; /slack/events is off")
        return
    # A route, not a mount: a mount answers POST /slack/events with a redirect to /slack/events/.
    app.add_route("/slack/events", factory(service, settings), methods=["POST"])


class SecurityHeaders:
    """Adds conservative security headers (CSP without inline code, no framing, no sniffing) to responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


class NoStore:
    """Adds `Cache-Control: no-store` to every response but static files.

    API answers, case pages, screenings and forms (with their CSRF tokens) are per-user and often
    confidential: no browser, proxy or shared computer should keep a copy. Static files stay cacheable.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith("/static/"):
            await self.app(scope, receive, send)
            return

        async def no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                if not any(name.lower() == b"cache-control" for name, _ in headers):
                    message["headers"] = [*headers, (b"cache-control", b"no-store")]
            await send(message)

        await self.app(scope, receive, no_store)


# -- errors ---------------------------------------------------------------------------------------------


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/v1") or path == "/healthz":
        return False
    return "text/html" in request.headers.get("accept", "")


def _error(request: Request, status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    if _wants_html(request):
        ctx: WebContext = request.app.state.ctx
        return ctx.templates.TemplateResponse(
            request,
            "error.html",
            {"status": status, "detail": detail, "user": None, "csrf": "", "error": None},
            status_code=status,
            headers=headers,
        )
    return problem(status, detail, instance=request.url.path, headers=headers, **extra)


def _install_error_handlers(app: FastAPI) -> None:
    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"nothing at {request.url.path}"
        return _error(request, exc.status_code, detail, headers=dict(exc.headers or {}))

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        summary = "; ".join(
            f"{'.'.join(e['loc'][1:]) or e['loc'][0] if e['loc'] else 'request'}: {e['msg']}" for e in errors[:5]
        )
        return _error(request, 422, f"the request is invalid: {summary}", errors=errors)

    async def on_signin(request: Request, exc: Exception) -> Response:
        return RedirectResponse("/signin", status_code=303)

    async def on_unauthorized(request: Request, exc: Exception) -> Response:
        return _error(request, 401, str(exc), headers={"WWW-Authenticate": 'Bearer realm="assistant"'})

    async def on_csrf(request: Request, exc: Exception) -> Response:
        return _error(request, 403, str(exc))

    async def on_rate(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RateLimited)
        return _error(request, 429, str(exc), headers={"Retry-After": str(exc.retry_after)})

    async def on_assistant(request: Request, exc: Exception) -> Response:
        if isinstance(exc, NotFound):
            return _error(request, 404, str(exc))
        if isinstance(exc, PermissionDenied):
            return _error(request, 403, str(exc))
        if isinstance(exc, InvalidTransition):
            return _error(request, 409, str(exc))
        if isinstance(exc, IdempotencyConflict):  # IETF Idempotency-Key draft: key reused with another body
            return _error(request, 422, str(exc))
        if isinstance(exc, OverBudget):
            return _error(request, 429, str(exc), headers={"Retry-After": str(exc.retry_after)})
        if isinstance(exc, BadInput):
            return _error(request, 400, str(exc))
        log.error("service error", exc_info=exc, extra={"path": request.url.path})
        return _error(request, 503, "the assistant cannot answer right now; try again later")

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.error("internal error", exc_info=exc, extra={"path": request.url.path})
        return _error(request, 500, "internal error; it has been logged")

    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(SignInRequired, on_signin)
    app.add_exception_handler(Unauthorized, on_unauthorized)
    app.add_exception_handler(CsrfRejected, on_csrf)
    app.add_exception_handler(RateLimited, on_rate)
    app.add_exception_handler(AssistantError, on_assistant)
    app.add_exception_handler(Exception, on_unexpected)
