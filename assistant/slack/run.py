"""`assistant slack [--http --port P]`: run the Slack app in Socket Mode or as an HTTP server."""

from __future__ import annotations

import logging

from ..config import Settings
from ..errors import ConfigError

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def check_settings(settings: Settings, *, http: bool) -> None:
    """ConfigError naming the missing variable, before anything is loaded."""
    if not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-...)")
    if http and not settings.slack_signing_secret:
        raise ConfigError("SLACK_SIGNING_SECRET is not set; HTTP mode verifies every request with it")
    if not http and not settings.slack_app_token:
        raise ConfigError("SLACK_APP_TOKEN is not set (an app-level token, xapp-..., for Socket Mode); or use --http")


def run_slack(settings: Settings, *, http: bool, port: int, host: str = "0.0.0.0") -> int:
    """Serve the Slack app until interrupted; returns the exit code.

    Socket Mode (default) connects out to Slack with SLACK_APP_TOKEN and needs no public URL. HTTP mode
    listens on `host:port` for POST /slack/events (put it behind TLS; Slack only calls https URLs).
    """
    check_settings(settings, http=http)
    from .app import create_web_client
    from .audiences import check_compliance_channel

    # Refuse to start rather than post case facts where outsiders can read them (the app checks again
    # before every card, in case the channel is made public or shared later).
    check_compliance_channel(create_web_client(settings), settings.slack_compliance_channel)
    from ..service import create_service

    service = create_service(settings)
    service.start()
    if http:
        import uvicorn

        from .asgi import create_slack_asgi

        asgi = create_slack_asgi(service, settings, path=EVENTS_PATH)
        log.info("slack app listening", extra={"host": host, "port": port, "path": EVENTS_PATH})
        uvicorn.run(asgi, host=host, port=port, log_level="info", lifespan="on")
        return 0

    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from .app import create_slack_app

    app = create_slack_app(service, settings)
    log.info("slack app connecting in socket mode")
    SocketModeHandler(app, settings.slack_app_token.get_secret_value()).start()
    return 0
