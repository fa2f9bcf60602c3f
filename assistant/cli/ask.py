"""`ask`, `ingest` and `sources`: questions to the guidance, and what is indexed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..errors import BadInput
from .common import checked_batch, fail, open_service


def print_answer(answer: Any) -> None:
    print(answer.answer)
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            link = f"  <{c.url}>" if c.url else ""
            print(f"  [{c.n}] {c.title} — {c.locator}{link}")
            print(f"      “{' '.join(c.quote.split())}”")


def cmd_ask(args: argparse.Namespace) -> int:
    from ..identity import User
    from ..service import validate_question

    if args.batch and args.question:
        fail("give either a QUESTION or --batch FILE, not both")
    if not args.batch and args.question is None:
        fail("a QUESTION is required (or --batch FILE)")
    if args.batch:

        def check(item: dict[str, Any]) -> None:
            if item.get("audience", args.audience) not in ("internal", "partner"):
                raise BadInput("audience must be 'internal' or 'partner'")
            validate_question(item.get("question"))

        items = checked_batch(args.batch, check)
        service = open_service()
        service.start()
        for item in items:
            user = User.for_audience(item.get("audience", args.audience))
            answer = service.ask(item["question"], user)
            answer.id = None if item.get("id") is None else str(item["id"])
            print(json.dumps(answer.to_json_dict(), ensure_ascii=False), flush=True)
        return 0
    validate_question(args.question)
    service = open_service()
    service.start()
    answer = service.ask(args.question, User.for_audience(args.audience))
    if args.json:
        print(json.dumps(answer.to_json_dict(), ensure_ascii=False, indent=2))
    else:
        print_answer(answer)
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    service = open_service()
    report = service.ingest([Path(p) for p in args.paths], audience=args.audience, progress=not args.json)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(report.summary())
    # Per-file failures do not stop the run, but a caller must be able to see them.
    return 2 if report.errors else 0


def cmd_sources(args: argparse.Namespace) -> int:
    from ..identity import User

    service = open_service()
    service.ensure_indexed()
    user = User.for_audience(args.audience) if args.audience else None
    sources = service.sources(user)
    if args.json:
        print(json.dumps([s.__dict__ for s in sources], indent=2))
        return 0
    for s in sources:
        print(f"{s.doc_id:28} {s.audience:9} {s.source_type:11} {s.chunks:4} chunks  {s.title}")
    print(f"{len(sources)} documents, {sum(s.chunks for s in sources)} chunks")
    return 0


def register(sub: Any) -> None:
    """Add `ask`, `ingest` and `sources`."""
    ask = sub.add_parser("ask", help="answer a question from the guidance, with citations")
    ask.add_argument("question", nargs="?")
    ask.add_argument("--audience", choices=("internal", "partner"), default="internal")
    ask.add_argument("--json", action="store_true", help="print the ask JSON")
    ask.add_argument("--batch", metavar="FILE", help='JSON Lines of {"id","question"[,"audience"]}; - for stdin')
    ask.set_defaults(func=cmd_ask)

    ingest = sub.add_parser("ingest", help="index files and folders (Markdown, PDF, HTML, DOCX, text)")
    ingest.add_argument("paths", nargs="+", metavar="PATH")
    ingest.add_argument(
        "--audience",
        choices=("public", "partner", "internal"),
        default=None,
        help="widest audience allowed: files without front matter get it, front matter may only narrow it "
        "(default: front matter decides, files without it are internal)",
    )
    ingest.add_argument("--json", action="store_true")
    ingest.set_defaults(func=cmd_ingest)

    sources = sub.add_parser("sources", help="list what is indexed")
    sources.add_argument("--audience", choices=("internal", "partner"))
    sources.add_argument("--json", action="store_true")
    sources.set_defaults(func=cmd_sources)
