"""The Slack app factory: one bolt `App` over one `AssistantService`, built from settings.

    service = create_service(settings)
    app = create_slack_app(service, settings)      # then Socket Mode or HTTP (see `run`)

Nothing happens at import time, and creating the app makes no network call: the bot token is
checked (auth.test) on the first request. Cross-cutting concerns are middleware: Slack's signature
check (bolt's, always on in HTTP mode) and de-duplication of retried events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from ..config import Settings
from ..errors import ConfigError
from ..service import AssistantService
from . import compliance, conversations, interactions
from .audiences import Directory, parse_channel_audiences, parse_user_ids
from .door import Door

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 3
LISTENER_THREADS = 8


def create_web_client(settings: Settings) -> WebClient:
    """A Web API client for SLACK_API_URL that retries connection errors and 429s (after Retry-After)."""
    if not settings.slack_bot_token:
        raise ConfigError("SLACK_BOT_TOKEN is not set; the Slack app needs its bot token (xoxb-...)")
    base_url = settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=base_url,
        timeout=15,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=1),
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ],
    )


def deduplicate(door: Door) -> Callable[..., BoltResponse | None]:
    """Middleware: an Events API delivery whose event_id was seen before is acknowledged and dropped.

    The record is in the database, so it holds across several app processes; Slack's retries carry
    the same event_id (and x-slack-retry-num), and so do duplicates from a reconnecting socket.
    """

    def middleware(req: BoltRequest, body: dict[str, Any], next_: Callable[[], None]) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            retry = next(iter(req.headers.get("x-slack-retry-num") or []), None)
            try:
                first = door.service.first_time(f"slack-event:{event_id}")
            except Exception:
                # Better a rare double answer than silence when the database is briefly unavailable.
                log.exception("event de-duplication failed", extra={"event_id": event_id})
                first = True
            if not first:
                log.info("duplicate event dropped", extra={"event_id": event_id, "retry_num": retry})
                return BoltResponse(status=200, body="")
        next_()
        return None

    return middleware


def create_slack_app(service: AssistantService, settings: Settings, *, client: WebClient | None = None) -> App:
    """The bolt app with every listener registered. `client` replaces the Web API client (tests, proxies)."""
    directory = Directory(
        parse_channel_audiences(settings.slack_channel_audiences),
        settings.slack_compliance_channel,
        compliance_users=parse_user_ids(settings.slack_compliance_users),
        compliance_usergroup=settings.slack_compliance_usergroup.strip(),
    )
    if not directory.has_reviewers:
        log.warning("no Slack compliance reviewers are named; cases can be decided on the web or the CLI only")
    door = Door(service=service, settings=settings, directory=directory)
    app = App(
        client=client or create_web_client(settings),
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        token_verification_enabled=False,
        request_verification_enabled=True,
        process_before_response=False,
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="slack-listener"),
        name="dd-assistant",
    )
    app.use(deduplicate(door))
    conversations.register(app, door)
    interactions.register(app, door)
    compliance.register(app, door)
    return app
