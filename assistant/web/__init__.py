"""The web door: a JSON API and server-rendered pages for resellers and compliance, over one service.

    app = create_web_app(service, settings)      # a FastAPI app; `serve(settings, host=..., port=...)` runs it

Modules: `app` (the factory, error mapping, middleware), `api` (the /v1 JSON routes), `pages` (HTML pages),
`auth` (API keys, session cookie, CSRF), `limits` (rate, body size and question length), `problems`
(problem+json responses), `run` (uvicorn).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_web_app
    from .run import serve


def __getattr__(name: str) -> Any:
    # FastAPI and uvicorn load on first use, so the CLI does not pay for them on every command.
    if name == "create_web_app":
        from .app import create_web_app

        return create_web_app
    if name == "serve":
        from .run import serve

        return serve
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["create_web_app", "serve"]
