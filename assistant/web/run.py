"""Run the web app with uvicorn (`assistant serve`)."""

from __future__ import annotations

from ..config import Settings


def serve(settings: Settings, *, host: str, port: int, dev: bool = False) -> int:
    """Build the service and the web app, index the corpus if empty, and serve until interrupted.

    Raises ConfigError before anything is served when the settings are refused (for instance an empty
    or placeholder ASSISTANT_SESSION_SECRET without `dev`). Returns 0 after a clean shutdown.
    """
    import uvicorn

    from ..service import create_service
    from .app import create_web_app

    service = create_service(settings)
    app = create_web_app(service, settings, dev=dev)
    service.start()
    config = uvicorn.Config(app, host=host, port=port, log_level="info", proxy_headers=True)
    uvicorn.Server(config).run()
    return 0
