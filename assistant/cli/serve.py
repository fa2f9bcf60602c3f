"""`serve` and `slack`: run the web app and HTTP API, or the Slack app."""

from __future__ import annotations

import argparse
from typing import Any


def cmd_serve(args: argparse.Namespace) -> int:
    from ..config import Settings
    from ..web import serve

    return serve(Settings(), host=args.host, port=args.port, dev=args.dev)


def cmd_slack(args: argparse.Namespace) -> int:
    from ..config import Settings
    from ..slack.run import run_slack

    return run_slack(Settings(), http=args.http, port=args.port, host=args.host)


def register(sub: Any) -> None:
    """Add `serve` and `slack`."""
    serve_p = sub.add_parser("serve", help="run the web app and HTTP API")
    serve_p.add_argument("--host", default="127.0.0.1")
    serve_p.add_argument("--port", type=int, default=8000)
    serve_p.add_argument("--dev", action="store_true", help="allow an unset session secret (random per run; dev only)")
    serve_p.set_defaults(func=cmd_serve)

    slack = sub.add_parser("slack", help="run the Slack app (Socket Mode; HTTP with --http)")
    slack.add_argument("--http", action="store_true", help="serve POST /slack/events instead of Socket Mode")
    slack.add_argument("--port", type=int, default=3000)
    slack.add_argument("--host", default="0.0.0.0")
    slack.set_defaults(func=cmd_slack)
