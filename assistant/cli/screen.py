"""`screen`: triage a deal (free text, structured fields or a batch) and open a case when compliance must look."""

from __future__ import annotations

import argparse
import json
from typing import Any

from .common import checked_batch, fail, open_service


def print_screening(result: Any) -> None:
    from ..enums import LEVEL_LABELS

    print(f"Level: {LEVEL_LABELS.get(result.level, result.level)}")
    if result.case_ref:
        print(f"Case: {result.case_ref} (compliance has been notified)")
    if result.reasons:
        print("\nWhy:")
        for reason in result.reasons:
            cites = "; ".join(c.locator for c in reason.citations)
            print(f"  - {reason.text}" + (f" [{cites}]" if cites else ""))
    if result.next_steps:
        print("\nNext steps:")
        for i, step in enumerate(result.next_steps, 1):
            print(f"  {i}. {step}")


def cmd_screen(args: argparse.Namespace) -> int:
    from ..identity import User
    from ..risk.triage import DealFields
    from ..service import validate_deal

    structured = any((args.product, args.end_user, args.country, args.partner))
    if sum(bool(x) for x in (args.batch, args.deal is not None, structured)) != 1:
        fail("give a DEAL text, structured fields (--product/--end-user/--country/--partner), or --batch FILE")
    user = User.for_audience(args.audience)
    if args.batch:
        items = checked_batch(args.batch, lambda item: validate_deal(item.get("scenario")))
        service = open_service()
        service.start()
        for item in items:
            result = service.screen(item["scenario"], user, open_case=not args.no_case)
            result.id = None if item.get("id") is None else str(item["id"])
            print(json.dumps(result.to_json_dict(), ensure_ascii=False), flush=True)
        return 0
    deal: Any
    if structured:
        deal = DealFields(
            product=args.product or "",
            end_user=args.end_user or "",
            country=args.country or "",
            partner=args.partner or "",
            notes=args.deal_notes or "",
        )
        validate_deal(deal.as_text())
    else:
        deal = validate_deal(args.deal)
    service = open_service()
    service.start()
    result = service.screen(deal, user, open_case=not args.no_case)
    if args.json:
        print(json.dumps(result.to_json_dict(), ensure_ascii=False, indent=2))
    else:
        print_screening(result)
    return 0


def register(sub: Any) -> None:
    """Add `screen`."""
    screen = sub.add_parser("screen", help="triage a deal: level, reasons with citations, next steps, case")
    screen.add_argument("deal", nargs="?", help="the deal as a rep would describe it")
    screen.add_argument("--product")
    screen.add_argument("--end-user", dest="end_user")
    screen.add_argument("--country")
    screen.add_argument("--partner")
    screen.add_argument("--notes", dest="deal_notes")
    screen.add_argument("--audience", choices=("internal", "partner"), default="internal")
    screen.add_argument("--json", action="store_true")
    screen.add_argument("--no-case", action="store_true", help="do not open a compliance case")
    screen.add_argument("--batch", metavar="FILE", help='JSON Lines of {"id","scenario"}; - for stdin')
    screen.set_defaults(func=cmd_screen)
