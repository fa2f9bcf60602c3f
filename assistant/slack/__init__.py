"""The Slack door: answers for sales reps, escalations and case review for compliance.

    app = create_slack_app(service, settings)          # a slack_bolt.App
    asgi = create_slack_asgi(service, settings)        # mount at /slack/events in the web server
    run_slack(settings, http=False, port=3000)         # `assistant slack [--http --port P]`

Modules: `app` (factory, middleware), `conversations` (mentions, DMs, threads, /dd), `interactions`
(feedback, sources, escalation, deal form), `compliance` (case cards, decisions, App Home), `blocks`
(Block Kit), `audiences` (channel scopes, users, who is compliance), `door` (shared helpers),
`asgi` (HTTP mode), `run` (the command).
"""

from __future__ import annotations

from .app import create_slack_app, create_web_client
from .asgi import SlackEventsASGI, create_slack_asgi
from .run import run_slack

__all__ = ["SlackEventsASGI", "create_slack_app", "create_slack_asgi", "create_web_client", "run_slack"]
