"""The `assistant` command: one parser, each command's arguments registered by its own module."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..errors import AssistantError, BadInput, ConfigError, IndexUnavailable, PermissionDenied
from . import ask, cases, evals, keys, parties, screen, serve
from .common import fail

log = logging.getLogger("assistant.cli")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: ask, ingest, sources, screen, keys, serve, slack, cases, parties, eval, bench."""
    parser = _Parser(prog="assistant", description="Partner due-diligence guidance assistant.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for module in (ask, screen, keys, serve, cases, parties, evals):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args))
    except (BadInput, PermissionDenied) as exc:
        fail(str(exc))
    except (ConfigError, IndexUnavailable) as exc:
        fail(str(exc), code=2 if isinstance(exc, ConfigError) else 1)
    except AssistantError as exc:
        fail(str(exc), code=1)
    except KeyboardInterrupt:
        fail("interrupted; re-run the command to finish", code=130)
    except BrokenPipeError:
        return 0
    except Exception as exc:
        # The traceback is for operators (-v); users get one line.
        if args.verbose:
            log.exception("internal error")
        fail(f"internal error ({type(exc).__name__}); run with -v for details", code=1)
