"""`keys`: API keys for the web app and the HTTP API, administered through the service."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..enums import ROLES, Role
from .common import open_service, operator


def cmd_keys(args: argparse.Namespace) -> int:
    service = open_service()
    # Whoever runs the CLI at the machine administers keys; the service checks the role all the same.
    admin = operator(None, Role.ADMIN)
    if args.keys_command == "create":
        record, secret = service.create_key(admin, args.org, args.role, args.name or "")
        # The key is shown once; only its hash is stored.
        print(secret)
        print(
            f"created {record.key_id} for {record.org} ({record.role}); store it now, it cannot be shown again",
            file=sys.stderr,
        )
        return 0
    if args.keys_command == "revoke":
        record = service.revoke_key(admin, args.key_id)
        print(f"revoked {record.key_id} ({record.org}, {record.role})")
        return 0
    records = service.list_keys(admin)
    if args.json:
        print(json.dumps([r.to_dict() for r in records], indent=2))
    else:
        for r in records:
            state = "revoked" if r.revoked_at else "active"
            print(f"{r.key_id}  {state:8} {r.role:11} {r.org:24} {r.name}")
    return 0


def register(sub: Any) -> None:
    """Add `keys create|list|revoke`."""
    keys = sub.add_parser("keys", help="API keys for the web app and HTTP API")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    create = keys_sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--org", required=True, help="'internal' for staff roles; the partner's own name for partners")
    create.add_argument("--role", required=True, choices=[str(role) for role in ROLES])
    create.add_argument("--name")
    keys_list = keys_sub.add_parser("list", help="list keys (never the secrets)")
    keys_list.add_argument("--json", action="store_true")
    revoke = keys_sub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    keys.set_defaults(func=cmd_keys)
