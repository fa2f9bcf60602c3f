"""What every command shares: the one-line failure, the service, JSON Lines batches, the operator."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

from ..enums import Role
from ..errors import BadInput
from ..identity import STAFF_ORG, User

if TYPE_CHECKING:
    from ..service import AssistantService


def fail(message: str, code: int = 2) -> NoReturn:
    """Report a problem as one line on stderr and exit (2: bad input or configuration)."""
    sys.stderr.write(f"assistant: error: {message}\n")
    raise SystemExit(code)


def open_service() -> AssistantService:
    """The service for this machine's settings (ASSISTANT_* environment, .env)."""
    from ..config import Settings
    from ..service import create_service

    return create_service(Settings())


def operator(name: str | None, role: Role = Role.COMPLIANCE) -> User:
    """The person at the machine: the CLI acts in `role` under the name given (else the login name), so its
    actions pass the service's role checks and the audit trail records who acted."""
    who = name or getpass.getuser()
    return User(id=who, role=role, org=STAFF_ORG, display_name=who)


def read_batch(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSON Lines file (- for stdin); fails on the first
    bad line, before the caller has done anything with the file."""
    if path == "-":
        handle: Any = sys.stdin
    else:
        try:
            handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed by the with-block below
        except OSError as exc:
            fail(f"cannot read {path}: {exc.strerror or exc}")
    with handle:
        try:
            for lineno, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as exc:
                    fail(f"{path}:{lineno}: not valid JSON ({exc.msg})")
                if not isinstance(item, dict):
                    fail(f"{path}:{lineno}: each line must be a JSON object")
                yield lineno, item
        except UnicodeDecodeError:
            fail(f"{path}: not valid UTF-8")


def checked_batch(path: str, check: Callable[[dict[str, Any]], object]) -> list[dict[str, Any]]:
    """Every object of a JSON Lines batch, each passed through `check` before anything is done with any of
    them, so a bad line costs nothing: the first refusal (BadInput) fails with its file and line."""
    items = list(read_batch(path))
    for lineno, item in items:
        try:
            check(item)
        except BadInput as exc:
            fail(f"{path}:{lineno}: {exc}")
    return [item for _, item in items]
