"""`assistant parties ...`: load the restricted-party lists as published, see what is in force, search them.

    assistant parties load FILE... [--list NAME] [--by NAME]    OFAC sdn.csv [alt.csv add.csv], an
                                                                OpenSanctions entity export, or our CSV
    assistant parties list [--json]
    assistant parties search NAME [--country CC] [--min-score N] [--json]
    assistant parties remove NAME --by NAME

The lists live in the case database (ASSISTANT_DATABASE_URL, or SQLite under ASSISTANT_HOME), so every
process screens against the version loaded last. Refusals (a file that cannot be read, an unknown
country) are BadInput: one line on stderr and exit code 2; nothing is changed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import BadInput, NotFound
from .common import open_service, operator

SEARCH_MIN_SCORE = 75.0
"""Default lowest score `parties search` shows: below the screening threshold, to show near misses."""


def cmd_load(args: argparse.Namespace) -> int:
    """Load one list's files and put the list in force."""
    paths = [Path(p) for p in args.files]
    for path in paths:
        if not path.is_file():
            raise BadInput(f"{path}: no such file")
    info = open_service().load_party_list(paths, operator(args.by), args.list)
    if args.json:
        print(json.dumps(info.to_dict(), ensure_ascii=False, indent=2))
        return 0
    published = f", published {info.published}" if info.published else ""
    print(
        f"loaded {info.name}: {info.entries} parties, {info.names} names and aliases "
        f"(format {info.format}{published}; version {info.version}); it replaces any earlier version"
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """Show the lists in force."""
    service = open_service()
    lists = service.party_lists_in_force()
    if args.json:
        print(json.dumps([info.to_dict() for info in lists], ensure_ascii=False, indent=2))
        return 0
    if not lists:
        print(f"no list loaded; screening uses {service.default_party_list}")
        return 0
    for info in lists:
        when = info.loaded_at.strftime("%Y-%m-%d %H:%M UTC")
        published = info.published or "not stated"
        print(
            f"{info.name}: {info.entries} parties, {info.names} names; format {info.format}; "
            f"published {published}; loaded {when} by {info.loaded_by}; version {info.version}; "
            f"files {', '.join(info.source_files)}"
        )
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Show the best matches of a name, with scores and explanations."""
    from ..risk.list_formats import country_code

    countries = []
    for value in args.country or []:
        code = country_code(value)
        if not code:
            raise BadInput(f"--country {value!r} is not a country name or ISO code")
        countries.append(code)
    if not 0 < args.min_score <= 100:
        raise BadInput("--min-score must be in (0, 100]")
    service = open_service()
    hits = service.search_parties(args.name, countries, threshold=args.min_score)[: args.limit]
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print(f"no listed party scores {args.min_score:g} or more for {args.name!r}")
        return 0
    for hit in hits:
        version = f"version {hit.list_version}" + (f", loaded {hit.loaded_at}" if hit.loaded_at else "")
        print(f"{hit.score:3d}  {hit.party}  [{hit.list_name}; {version}]")
        print(f"     {hit.explanation}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    """Take a list out of force."""
    service = open_service()
    if not service.remove_party_list(args.name, operator(args.by)):
        raise NotFound(f"no list named {args.name!r} is loaded (see `assistant parties list`)")
    print(f"removed {args.name}")
    return 0


def register(sub: Any) -> None:
    """Add `parties` and its commands to the main parser."""
    parties = sub.add_parser("parties", help="restricted-party lists: load the published files, list, search")
    commands = parties.add_subparsers(dest="parties_command", required=True, metavar="COMMAND")

    load = commands.add_parser(
        "load", help="load a list from its published files (OFAC sdn.csv [alt.csv add.csv], OpenSanctions, CSV)"
    )
    load.add_argument("files", nargs="+", metavar="FILE")
    load.add_argument("--list", metavar="NAME", help="the list's name (default: from the format, e.g. 'OFAC SDN')")
    load.add_argument("--by", metavar="NAME", help="who loads it (default: your login name)")
    load.add_argument("--json", action="store_true")
    load.set_defaults(func=cmd_load)

    show = commands.add_parser("list", help="the lists in force: size, publication date, load time, version")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_list)

    search = commands.add_parser("search", help="the best matches of a name, with scores and explanations")
    search.add_argument("name")
    search.add_argument("--country", action="append", metavar="CC", help="the party's country (repeatable)")
    search.add_argument("--min-score", type=float, default=SEARCH_MIN_SCORE, help="lowest score shown")
    search.add_argument("--limit", type=int, default=10)
    search.add_argument("--json", action="store_true")
    search.set_defaults(func=cmd_search)

    remove = commands.add_parser("remove", help="take a list out of force")
    remove.add_argument("name")
    remove.add_argument("--by", metavar="NAME")
    remove.set_defaults(func=cmd_remove)
