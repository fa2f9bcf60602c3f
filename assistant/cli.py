"""The command-line door: parses arguments, calls the service, prints results. No logic of its own.

Exit codes: 0 success, 2 bad input (one line on stderr), 1 internal error.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

from .errors import AssistantError, BadInput, ConfigError, IndexUnavailable, PermissionDenied

log = logging.getLogger("assistant.cli")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _fail(message: str, code: int = 2) -> NoReturn:
    sys.stderr.write(f"assistant: error: {message}\n")
    raise SystemExit(code)


def _service() -> Any:
    from .config import Settings
    from .service import create_service

    return create_service(Settings())


# -- ask ---------------------------------------------------------------------------------------------------


def _print_answer(answer: Any) -> None:
    print(answer.answer)
    if answer.citations:
        print("\nSources:")
        for c in answer.citations:
            link = f"  <{c.url}>" if c.url else ""
            print(f"  [{c.n}] {c.title} — {c.locator}{link}")
            print(f"      “{' '.join(c.quote.split())}”")


def _read_batch(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    if path == "-":
        handle: Any = sys.stdin
    else:
        try:
            handle = open(path, encoding="utf-8")  # noqa: SIM115 - closed by the with-block below
        except OSError as exc:
            _fail(f"cannot read {path}: {exc.strerror or exc}")
    with handle:
        try:
            for lineno, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as exc:
                    _fail(f"{path}:{lineno}: not valid JSON ({exc.msg})")
                if not isinstance(item, dict):
                    _fail(f"{path}:{lineno}: each line must be a JSON object")
                yield lineno, item
        except UnicodeDecodeError:
            _fail(f"{path}: not valid UTF-8")


def cmd_ask(args: argparse.Namespace) -> int:
    from .identity import User
    from .service import validate_question

    if args.batch and args.question:
        _fail("give either a QUESTION or --batch FILE, not both")
    if not args.batch and args.question is None:
        _fail("a QUESTION is required (or --batch FILE)")
    if args.batch:
        # Validate the whole file before answering anything, so a bad line costs nothing.
        items = list(_read_batch(args.batch))
        for lineno, item in items:
            audience = item.get("audience", args.audience)
            if audience not in ("internal", "partner"):
                _fail(f"{args.batch}:{lineno}: audience must be 'internal' or 'partner'")
            try:
                validate_question(item.get("question"))
            except BadInput as exc:
                _fail(f"{args.batch}:{lineno}: {exc}")
        service = _service()
        service.start()
        for _, item in items:
            user = User.for_audience(item.get("audience", args.audience))
            answer = service.ask(item["question"], user)
            answer.id = None if item.get("id") is None else str(item["id"])
            print(json.dumps(answer.to_json_dict(), ensure_ascii=False), flush=True)
        return 0
    validate_question(args.question)
    service = _service()
    service.start()
    answer = service.ask(args.question, User.for_audience(args.audience))
    if args.json:
        print(json.dumps(answer.to_json_dict(), ensure_ascii=False, indent=2))
    else:
        _print_answer(answer)
    return 0


# -- ingest / sources ----------------------------------------------------------------------------------------


def cmd_ingest(args: argparse.Namespace) -> int:
    service = _service()
    report = service.ingest([Path(p) for p in args.paths], audience=args.audience, progress=not args.json)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        print(report.summary())
    # Per-file failures do not stop the run, but a caller must be able to see them.
    return 2 if report.errors else 0


def cmd_sources(args: argparse.Namespace) -> int:
    from .identity import User

    service = _service()
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


# -- screen -------------------------------------------------------------------------------------------------


def _print_screening(result: Any) -> None:
    from .enums import LEVEL_LABELS

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
    from .identity import User
    from .risk.triage import DealFields
    from .service import validate_deal

    structured = any((args.product, args.end_user, args.country, args.partner))
    if sum(bool(x) for x in (args.batch, args.deal is not None, structured)) != 1:
        _fail("give a DEAL text, structured fields (--product/--end-user/--country/--partner), or --batch FILE")
    user = User.for_audience(args.audience)
    if args.batch:
        items = list(_read_batch(args.batch))
        for lineno, item in items:
            try:
                validate_deal(item.get("scenario"))
            except BadInput as exc:
                _fail(f"{args.batch}:{lineno}: {exc}")
        service = _service()
        service.start()
        for _, item in items:
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
    service = _service()
    service.start()
    result = service.screen(deal, user, open_case=not args.no_case)
    if args.json:
        print(json.dumps(result.to_json_dict(), ensure_ascii=False, indent=2))
    else:
        _print_screening(result)
    return 0


# -- keys -------------------------------------------------------------------------------------------------


def cmd_keys(args: argparse.Namespace) -> int:
    from .enums import Role
    from .identity import STAFF_ORG, User

    service = _service()
    # Whoever runs the CLI at the machine administers keys; the service checks the role all the same.
    admin = User(id=getpass.getuser(), role=Role.ADMIN, org=STAFF_ORG)
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


def cmd_serve(args: argparse.Namespace) -> int:
    from .config import Settings
    from .web import serve

    return serve(Settings(), host=args.host, port=args.port, dev=args.dev)


def cmd_slack(args: argparse.Namespace) -> int:
    from .config import Settings
    from .slack.run import run_slack

    return run_slack(Settings(), http=args.http, port=args.port, host=args.host)


def cmd_eval(args: argparse.Namespace) -> int:
    from .config import Settings
    from .evals.runner import EVALS_DIR, main_eval

    if args.answers_only:
        from .evals.answer_sets import main_answer_eval

        def chosen(given: list[str] | None, pattern: str) -> list[Path]:
            if given:
                return [Path(f) for f in given]
            found = sorted(EVALS_DIR.glob(pattern))
            return [f for f in found if "_sealed" not in f.name]

        if args.questions or args.offtopic:
            questions, offtopic = [Path(f) for f in args.questions or []], [Path(f) for f in args.offtopic or []]
        else:
            questions, offtopic = chosen(None, "questions*.jsonl"), chosen(None, "offtopic*.jsonl")
        return main_answer_eval(Settings(), questions, offtopic, as_json=args.json)
    if args.parties:
        from .evals.parties import main_party_eval

        fixture = EVALS_DIR / "parties_fixture.jsonl"
        phrases = Path(args.party_phrases) if args.party_phrases else EVALS_DIR / "party_phrases.jsonl"
        for path in (fixture, phrases):
            if not path.is_file():
                _fail(f"{path}: file not found")
        return main_party_eval(Settings(), fixture, phrases, as_json=args.json)

    if args.triage_only or args.decided_cases:
        from .evals.triage_sets import main_triage_eval

        if args.triage_only:
            files = [Path(f) for f in args.deals] if args.deals else sorted(EVALS_DIR.glob("deals*.jsonl"))
            files = [f for f in files if args.deals or not f.name.startswith("deals_sealed")]
        else:
            files = [Path(f) for f in args.deals or []]
        return main_triage_eval(Settings(), files, decided_cases=args.decided_cases, as_json=args.json)
    if args.deals and len(args.deals) > 1:
        _fail("the full evaluation takes one --deals FILE (use --triage-only for several)")

    if (args.questions and len(args.questions) > 1) or (args.offtopic and len(args.offtopic) > 1):
        _fail("the full evaluation takes one --questions and one --offtopic FILE (use --answers-only for several)")
    return main_eval(
        Settings(),
        questions=Path(args.questions[0]) if args.questions else EVALS_DIR / "questions.jsonl",
        deals=Path(args.deals[0]) if args.deals else EVALS_DIR / "deals.jsonl",
        offtopic=Path(args.offtopic[0]) if args.offtopic else EVALS_DIR / "offtopic.jsonl",
        as_json=args.json,
        report_dir=Path(args.report) if args.report else None,
    )


def _chunk_count(value: str) -> int:
    """--chunks: a whole number of chunks within what a scale run supports."""
    from .evals.scale import MAX_SCALE_CHUNKS

    try:
        number = int(value.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None
    if not 1 <= number <= MAX_SCALE_CHUNKS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_SCALE_CHUNKS:,}")
    return number


def cmd_bench(args: argparse.Namespace) -> int:
    from .config import Settings
    from .evals.bench import main_bench
    from .evals.scale import SCALE_CHUNKS

    settings = Settings()
    questions = (
        Path(args.questions) if args.questions else Path(__file__).resolve().parent.parent / "evals" / "questions.jsonl"
    )
    if not questions.is_file():
        _fail(f"{questions}: question file not found (give --questions FILE)")
    if args.chunks is not None and not args.scale:
        _fail("--chunks goes with --scale")
    return main_bench(settings, questions, args.json, scale=args.scale, scale_chunks=args.chunks or SCALE_CHUNKS)


# -- parser ------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="assistant", description="Partner due-diligence guidance assistant.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

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

    keys = sub.add_parser("keys", help="API keys for the web app and HTTP API")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    create = keys_sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--org", required=True, help="'internal' for staff roles; the partner's own name for partners")
    create.add_argument("--role", required=True, choices=("partner", "sales", "compliance", "admin"))
    create.add_argument("--name")
    keys_list = keys_sub.add_parser("list", help="list keys (never the secrets)")
    keys_list.add_argument("--json", action="store_true")
    revoke = keys_sub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    keys.set_defaults(func=cmd_keys)

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

    from .cli_cases import register as register_cases
    from .cli_parties import register as register_parties

    register_cases(sub)
    register_parties(sub)

    ev = sub.add_parser(
        "eval", help="score answers, refusals and triage beside a LangChain baseline; exit 1 below a threshold"
    )
    ev.add_argument("--questions", metavar="FILE", action="append", help="question set (repeat with --answers-only)")
    ev.add_argument("--deals", metavar="FILE", action="append", help="deal set (repeat with --triage-only)")
    ev.add_argument(
        "--triage-only",
        action="store_true",
        help="only triage: figures per deal set (default: every evals/deals*.jsonl but the sealed ones)",
    )
    ev.add_argument(
        "--decided-cases",
        action="store_true",
        help="also score triage on deals compliance decided at another level than triage gave",
    )
    ev.add_argument("--offtopic", metavar="FILE", action="append", help="off-topic set (repeat with --answers-only)")
    ev.add_argument(
        "--answers-only",
        action="store_true",
        help="only answers: figures per question set (default: every evals/questions*.jsonl and offtopic*.jsonl"
        " but the sealed ones)",
    )
    ev.add_argument(
        "--parties",
        action="store_true",
        help="only restricted-party screening: evals/parties_fixture.jsonl loaded as OFAC files, phrases screened",
    )
    ev.add_argument(
        "--party-phrases", metavar="FILE", help="phrases for --parties (default: evals/party_phrases.jsonl)"
    )
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--report", metavar="DIR", help="write report.md, report.json and PNG charts here")
    ev.set_defaults(func=cmd_eval)

    bench = sub.add_parser("bench", help="benchmark: each figure beside its reference, measured in one run")
    bench.add_argument("--json", action="store_true")
    bench.add_argument(
        "--scale", action="store_true", help="only the scale run over a synthetic index (100,000 chunks: minutes)"
    )
    bench.add_argument("--chunks", metavar="N", type=_chunk_count, help="synthetic chunks for --scale (default 100000)")
    bench.add_argument("--questions", metavar="FILE", help="questions to time (default: evals/questions.jsonl)")
    bench.set_defaults(func=cmd_bench)
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
        _fail(str(exc))
    except (ConfigError, IndexUnavailable) as exc:
        _fail(str(exc), code=2 if isinstance(exc, ConfigError) else 1)
    except AssistantError as exc:
        _fail(str(exc), code=1)
    except KeyboardInterrupt:
        _fail("interrupted; re-run the command to finish", code=130)
    except BrokenPipeError:
        return 0
    except Exception as exc:
        # The traceback is for operators (-v); users get one line.
        if args.verbose:
            log.exception("internal error")
        _fail(f"internal error ({type(exc).__name__}); run with -v for details", code=1)
