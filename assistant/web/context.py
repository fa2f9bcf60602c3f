"""What every route needs, built once per app: the service, settings, templates and limiters."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from fastapi.templating import Jinja2Templates

from ..config import Settings
from ..service import AssistantService
from .limits import RateLimiter
from .sessions import SessionCodec


@dataclass(frozen=True)
class WebContext:
    """Per-app state, kept on `app.state.ctx` (no module-level singletons)."""

    service: AssistantService
    settings: Settings
    templates: Jinja2Templates
    limiter: RateLimiter
    sessions: SessionCodec


def get_context(request: Request) -> WebContext:
    """FastAPI dependency: the app's WebContext."""
    ctx: WebContext = request.app.state.ctx
    return ctx
