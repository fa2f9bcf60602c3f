"""`eval` and `bench`: quality figures beside a baseline, and speed figures beside their references."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .common import fail


def cmd_eval(args: argparse.Namespace) -> int:
    from ..config import Settings
    from ..evals.runner import EVALS_DIR, main_eval

    if args.answers_only:
        from ..evals.answer_sets import main_answer_eval

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
        from ..evals.parties import main_party_eval

        fixture = EVALS_DIR / "parties_fixture.jsonl"
        phrases = Path(args.party_phrases) if args.party_phrases else EVALS_DIR / "party_phrases.jsonl"
        for path in (fixture, phrases):
            if not path.is_file():
                fail(f"{path}: file not found")
        return main_party_eval(Settings(), fixture, phrases, as_json=args.json)

    if args.triage_only or args.decided_cases:
        from ..evals.triage_sets import main_triage_eval

        if args.triage_only:
            files = [Path(f) for f in args.deals] if args.deals else sorted(EVALS_DIR.glob("deals*.jsonl"))
            files = [f for f in files if args.deals or not f.name.startswith("deals_sealed")]
        else:
            files = [Path(f) for f in args.deals or []]
        return main_triage_eval(Settings(), files, decided_cases=args.decided_cases, as_json=args.json)
    if args.deals and len(args.deals) > 1:
        fail("the full evaluation takes one --deals FILE (use --triage-only for several)")

    if (args.questions and len(args.questions) > 1) or (args.offtopic and len(args.offtopic) > 1):
        fail("the full evaluation takes one --questions and one --offtopic FILE (use --answers-only for several)")
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
    from ..evals.scale import MAX_SCALE_CHUNKS

    try:
        number = int(value.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None
    if not 1 <= number <= MAX_SCALE_CHUNKS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_SCALE_CHUNKS:,}")
    return number


def cmd_bench(args: argparse.Namespace) -> int:
    from ..config import Settings
    from ..evals.bench import main_bench
    from ..evals.runner import EVALS_DIR
    from ..evals.scale import SCALE_CHUNKS

    settings = Settings()
    questions = Path(args.questions) if args.questions else EVALS_DIR / "questions.jsonl"
    if not questions.is_file():
        fail(f"{questions}: question file not found (give --questions FILE)")
    if args.chunks is not None and not args.scale:
        fail("--chunks goes with --scale")
    return main_bench(settings, questions, args.json, scale=args.scale, scale_chunks=args.chunks or SCALE_CHUNKS)


def register(sub: Any) -> None:
    """Add `eval` and `bench`."""
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
