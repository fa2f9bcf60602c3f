"""`assistant cases ...`: the command-line door to the compliance case queue.

    assistant cases list [--status S] [--org ORG] [--level L] [--limit N] [--json]
    assistant cases show REF [--json]
    assistant cases decide REF approve|reject|needs-info --by NAME --comment TEXT [--level LEVEL]
    assistant cases assign REF --to NAME [--by NAME] [--comment TEXT]
    assistant cases close REF --by NAME [--comment TEXT]
    assistant cases reopen REF --by NAME --comment TEXT
    assistant cases export --format csv|json [--output FILE] [--status S] [--org ORG]
    assistant cases verify [--against CHECKPOINT] [--json]
    assistant cases checkpoint [--out FILE]

The store comes from Settings (ASSISTANT_DATABASE_URL, or SQLite at ASSISTANT_HOME/cases.db). Refusals
are `BadInput` errors, which the CLI's main turns into one line on stderr and exit code 2. `verify`
exits 1 when it finds damage, and so does `checkpoint` (which then writes nothing). Both sign and check
with ASSISTANT_AUDIT_KEY, which they never print. Nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..enums import LEVELS, STATUSES
from ..errors import BadInput
from .common import open_service, operator

if TYPE_CHECKING:
    from ..cases.audit import VerifyReport
    from ..cases.models import Case, CaseEvent


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


# -- handlers ------------------------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    """List cases, oldest first."""
    cases = open_service().list_cases(
        operator(None), status=args.status, org=args.org, level=args.level, limit=args.limit
    )
    if args.json:
        _print_json([case.to_dict() for case in cases])
        return 0
    now = datetime.now(UTC)
    for case in cases:
        due = _when(case.sla_due_at) + (" OVERDUE" if case.is_overdue(now) else "")
        print(f"{case.ref}  {case.status:10} {case.level:22} {case.org:16} due {due:26} {_one_line(case.summary, 60)}")
    print(f"{len(cases)} case(s)")
    return 0


def _print_case(case: Case, events: list[CaseEvent]) -> None:
    print(f"{case.ref}  {case.status}  level {case.level}")
    print(f"summary:   {case.summary}")
    r = case.requester
    print(f"requester: {r.user_id} via {r.channel} ({r.org}); organisation {case.org}")
    print(f"assignee:  {case.assignee or '-'}")
    overdue = " (overdue)" if case.is_overdue(datetime.now(UTC)) else ""
    print(f"SLA due:   {_when(case.sla_due_at)}{overdue}")
    print(f"created:   {_when(case.created_at)}   updated: {_when(case.updated_at)}")
    if case.reasons:
        print("reasons:")
        for reason in case.reasons:
            rule = f" [{reason['rule']}]" if reason.get("rule") else ""
            print(f"  - {reason['text']}{rule}")
    if case.facts:
        print("facts:")
        for key, value in case.facts.items():
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            print(f"  {key}: {shown}")
    print("audit trail:")
    for ev in events:
        move = f"{ev.from_status} -> {ev.to_status}" if ev.from_status else f"-> {ev.to_status}"
        comment = f'  "{_one_line(ev.comment, 80)}"' if ev.comment else ""
        print(f"  {ev.seq:3}  {_when(ev.created_at)}  {ev.actor}  {ev.action}  {move}{comment}")


def cmd_show(args: argparse.Namespace) -> int:
    """Show one case with its audit trail."""
    case, events = open_service().case_for(args.ref, operator(None))
    if args.json:
        _print_json({**case.to_dict(), "events": [ev.to_dict() for ev in events]})
    else:
        _print_case(case, events)
    return 0


def _report_change(case: Case, actor: str) -> int:
    assignee = f", assigned to {case.assignee}" if case.assignee else ""
    print(f"{case.ref} is now {case.status}{assignee} (by {actor})")
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    """Approve, reject or ask for more information, with a comment.

    Decisions go through the service as a compliance operator named by --by, so the CLI obeys the same
    rules as every door: nobody decides a case they requested, and a prohibited case needs two reviewers.
    """
    case = open_service().decide_case(
        args.ref, args.decision, operator(args.by), args.comment, corrected_level=args.level
    )
    if case.status == "in_review" and args.decision == "approve":
        print(f"{case.ref} has its first approval (by {args.by}); a second, different reviewer must approve it")
        return 0
    return _report_change(case, args.by)


def cmd_assign(args: argparse.Namespace) -> int:
    """Give a case to a reviewer."""
    actor = operator(args.by)
    case = open_service().assign_case(args.ref, actor, assignee=args.to, comment=args.comment)
    return _report_change(case, actor.id)


def cmd_close(args: argparse.Namespace) -> int:
    """Close a case (a comment is needed when it was never decided)."""
    actor = operator(args.by)
    case = open_service().close_case(args.ref, actor, comment=args.comment)
    return _report_change(case, actor.id)


def cmd_reopen(args: argparse.Namespace) -> int:
    """Send a decided or closed case back to review."""
    actor = operator(args.by)
    case = open_service().reopen_case(args.ref, actor, comment=args.comment)
    return _report_change(case, actor.id)


def cmd_export(args: argparse.Namespace) -> int:
    """Export cases with their events as CSV or JSON, to stdout or a file."""
    data = open_service().export_cases(operator(None), args.format, status=args.status, org=args.org)
    if not args.output or args.output == "-":
        print(data, end="")
        return 0
    _write_atomically(Path(args.output), data)
    return 0


def _write_atomically(target: Path, data: str) -> None:
    """Write aside and rename, so a reader never sees half a file; BadInput when it cannot be written."""
    partial = target.with_name(target.name + ".partial")
    try:
        partial.write_text(data, encoding="utf-8", newline="")
        partial.replace(target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BadInput(f"cannot write {target}: {exc.strerror or exc}") from exc


def _read_checkpoint(path: str) -> dict[str, Any]:
    from ..cases.audit import read_checkpoint

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not readable as UTF-8 text"
        raise BadInput(f"cannot read the checkpoint {path}: {reason}") from exc
    return read_checkpoint(text, f"the checkpoint {path}")


def _print_report(report: VerifyReport) -> None:
    for problem in report.problems:
        print(problem)
    for note in report.notes():
        print(note)
    print(report.summary())


def cmd_verify(args: argparse.Namespace) -> int:
    """Check every audit chain, case row and MAC (and a checkpoint); exit 1 if anything was changed behind
    the application."""
    checkpoint = _read_checkpoint(args.against) if args.against else None
    report = open_service().verify_trail(operator(None), checkpoint)
    if args.json:
        _print_json(report.to_dict())
    else:
        _print_report(report)
    return 0 if report.ok else 1


def cmd_checkpoint(args: argparse.Namespace) -> int:
    """Write a signed digest of every case's head, after checking the trail; exit 1 (writing nothing) if
    the trail is damaged."""
    report, checkpoint = open_service().checkpoint_trail(operator(None))
    if not report.ok:
        _print_report(report)
        print("assistant: no checkpoint written: the audit trail has problems (see above)", file=sys.stderr)
        return 1
    data = json.dumps(checkpoint, ensure_ascii=False, indent=2) + "\n"
    if not args.out or args.out == "-":
        print(data, end="")
        where = "stdout"
    else:
        _write_atomically(Path(args.out), data)
        where = args.out
    print(
        f"checkpoint of {len(checkpoint['cases'])} cases ({report.events} events) written to {where};"
        " keep it where the database's writers cannot change it",
        file=sys.stderr,
    )
    return 0


def register(subparsers: Any) -> None:
    """Add `cases` and its sub-commands to the CLI's sub-parsers (from `add_subparsers`)."""
    cases = subparsers.add_parser("cases", help="the compliance case queue", description="The compliance case queue.")
    sub = cases.add_subparsers(dest="cases_command", required=True, metavar="COMMAND")

    list_ = sub.add_parser("list", help="list cases")
    list_.add_argument("--status", choices=STATUSES)
    list_.add_argument("--level", choices=LEVELS)
    list_.add_argument("--org", help="only this organisation's cases")
    list_.add_argument("--limit", type=int, default=None, help="at most this many (default: every case)")
    list_.add_argument("--json", action="store_true", help="print a JSON list of cases")
    list_.set_defaults(func=cmd_list)

    show = sub.add_parser("show", help="show a case and its audit trail")
    show.add_argument("ref", metavar="REF")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)

    decide = sub.add_parser("decide", help="approve, reject or ask for more information")
    decide.add_argument("ref", metavar="REF")
    decide.add_argument("decision", choices=("approve", "reject", "needs-info"))
    decide.add_argument("--by", required=True, metavar="NAME", help="who decides")
    decide.add_argument("--comment", metavar="TEXT", help="why (required)")
    decide.add_argument(
        "--level",
        choices=("proceed", "enhanced_due_diligence", "escalate", "prohibited"),
        help="triage was wrong: the level compliance judges right (scored by `assistant eval --decided-cases`)",
    )
    decide.set_defaults(func=cmd_decide)

    assign = sub.add_parser("assign", help="give a case to a reviewer")
    assign.add_argument("ref", metavar="REF")
    assign.add_argument("--to", required=True, metavar="NAME", help="the reviewer")
    assign.add_argument("--by", metavar="NAME", help="who assigns (default: your login name)")
    assign.add_argument("--comment", metavar="TEXT")
    assign.set_defaults(func=cmd_assign)

    close = sub.add_parser("close", help="close a case")
    close.add_argument("ref", metavar="REF")
    close.add_argument("--by", required=True, metavar="NAME")
    close.add_argument("--comment", metavar="TEXT", help="required when the case was never decided")
    close.set_defaults(func=cmd_close)

    reopen = sub.add_parser("reopen", help="send a decided or closed case back to review")
    reopen.add_argument("ref", metavar="REF")
    reopen.add_argument("--by", required=True, metavar="NAME")
    reopen.add_argument("--comment", metavar="TEXT", help="why (required)")
    reopen.set_defaults(func=cmd_reopen)

    export = sub.add_parser("export", help="export cases with their audit trails")
    export.add_argument("--format", required=True, choices=("csv", "json"))
    export.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    export.add_argument("--status", choices=STATUSES)
    export.add_argument("--org")
    export.set_defaults(func=cmd_export)

    verify = sub.add_parser("verify", help="check the audit trail; exit 1 if it was tampered with")
    verify.add_argument(
        "--against", metavar="CHECKPOINT", help="also compare with a checkpoint file (needs ASSISTANT_AUDIT_KEY)"
    )
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(func=cmd_verify)

    checkpoint = sub.add_parser(
        "checkpoint", help="write every case's head, signed with ASSISTANT_AUDIT_KEY, for `verify --against`"
    )
    checkpoint.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    checkpoint.set_defaults(func=cmd_checkpoint)
