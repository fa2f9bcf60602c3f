"""The evaluation report: report.md for people, PNG charts to show, report.json for machines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import metrics as m

if TYPE_CHECKING:
    from .runner import EvalReport

_LABELS = {
    "retrieval.hit1": "clause hit@1",
    "retrieval.hit5": "clause hit@5",
    "retrieval.mrr10": "clause MRR@10",
    "retrieval.doc_hit5": "document hit@5",
    "answers.cites_expected": "answers citing an expected section",
    "answers.must_mention_coverage": "must_mention coverage (terms)",
    "answers.must_mention_complete": "questions with every must_mention term",
    "answers.citation_validity": "answers with valid citations",
    "answers.partner_leaks": "internal citations shown to partners",
    "answers.citation_support": "cited sentences supported by their chunk",
    "answers.uncited_share": "sentences without a citation",
    "refusals.offtopic_refused": "off-topic questions refused",
    "refusals.false_refusals": "in-scope questions refused",
    "latency.ask_p50_ms": "answer latency p50 (ms)",
    "latency.ask_p95_ms": "answer latency p95 (ms)",
    "triage.exact_accuracy": "triage exact level",
    "triage.escalation_recall": "escalation recall",
    "triage.false_escalation_rate": "proceed deals escalated or prohibited",
    "triage.under_triage_rate": "deals given a lower level than expected",
    "latency.screen_p95_ms": "screening latency p95 (ms)",
}
_SHORT_LEVELS = {
    "proceed": "proceed",
    "enhanced_due_diligence": "EDD",
    "escalate": "escalate",
    "prohibited": "prohibited",
}


def _fmt(value: float | None, key: str = "") -> str:
    if value is None:
        return "n/a"
    if key.startswith("latency."):
        return f"{value:.1f}"
    if key == "answers.partner_leaks":
        return f"{value:.0f}"
    return f"{value:.3f}"


def _short(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def write_report(report: EvalReport, out_dir: Path) -> list[Path]:
    """Write report.md, report.json and three PNG charts into out_dir (created); return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    charts = [
        _confusion_chart(report, out_dir / "confusion_matrix.png"),
        _topic_chart(report, out_dir / "hit_at_k_by_topic.png"),
        _latency_chart(report, out_dir / "latency.png"),
    ]
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    md_path = out_dir / "report.md"
    md_path.write_text(render_markdown(report), encoding="utf-8")
    return [md_path, json_path, *charts]


def render_markdown(report: EvalReport) -> str:
    """The report a compliance lead reads: verdict, figures beside the baseline, then what failed."""
    ours, base = report.metrics(), report.baseline.metrics()
    gate = {c.metric: c for c in report.gate}
    verdict = "no thresholds applied" if not report.gate else ("PASSED" if report.passed else "FAILED")
    d = report.data
    out = [
        "# Evaluation report",
        "",
        f"Run {report.created_at} in {report.elapsed_s:.0f} s over {d['chunks']} indexed passages "
        f"({d['embedding_model']}, {d['generator']} answers). Data: {d['questions']['n']} questions, "
        f"{d['offtopic']['n']} off-topic questions, {d['deals']['n']} deals.",
        "",
        f"**Quality gate: {verdict}**"
        + (f" ({sum(c.ok for c in report.gate)}/{len(report.gate)} thresholds met)" if report.gate else ""),
        "",
        "## Figures",
        "",
        "The baseline is plain dense retrieval from a LangChain Chroma store over the same passages and"
        " embeddings, answering with the opening sentences of its top three passages. It never refuses,"
        " and it has no triage, so triage figures have no baseline.",
        "",
        "| figure | assistant | baseline | bar | status |",
        "|---|---|---|---|---|",
    ]
    for key, value in ours.items():
        check = gate.get(key)
        status = "" if check is None else ("ok" if check.ok else "**FAIL**")
        out.append(
            f"| {_LABELS.get(key, key)} (`{key}`) | {_fmt(value, key)} | {_fmt(base.get(key), key)} | "
            f"{check.bar if check else ''} | {status} |"
        )
    if report.gate:
        out += ["", "### Why the bars are where they are", ""]
        out += [f"- `{c.metric}` {c.bar}: {c.reason}" for c in report.gate]
    out += _triage_section(report)
    out += _topic_section(report)
    out += _latency_section(report)
    out += _failures_section(report)
    return "\n".join(out) + "\n"


def _triage_section(report: EvalReport) -> list[str]:
    t = report.triage
    out = [
        "",
        "## Triage",
        "",
        f"{t.exact}/{t.n} deals at the expected level. Rows: expected level; columns: the level given.",
        "",
        "| expected \\ given | " + " | ".join(_SHORT_LEVELS[x] for x in t.labels) + " |",
        "|---|" + "---|" * len(t.labels),
    ]
    for label, row in zip(t.labels, t.matrix, strict=True):
        out.append(f"| {_SHORT_LEVELS[label]} | " + " | ".join(str(n) for n in row) + " |")
    out += ["", "![confusion matrix](confusion_matrix.png)"]
    if t.mismatches:
        out += ["", "| deal | expected | given | why it is expected |", "|---|---|---|---|"]
        out += [f"| {i} | {e} | {p} | {report.triage_why.get(i, '')} |" for i, e, p in t.mismatches]
    return out


def _topic_section(report: EvalReport) -> list[str]:
    ours, base = report.assistant.per_topic, report.baseline.per_topic
    out = [
        "",
        "## By topic",
        "",
        "| topic | n | hit@1 | hit@5 | MRR@10 | must_mention | baseline hit@5 | baseline must_mention |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for topic, row in ours.items():
        b = base.get(topic, {})
        cells = [row["hit1"], row["hit5"], row["mrr10"], row["must_mention_coverage"]]
        cells += [b.get("hit5"), b.get("must_mention_coverage")]
        out.append(f"| {topic} | {row['n']:.0f} | " + " | ".join(_short(v) for v in cells) + " |")
    out += ["", "![hit@k by topic](hit_at_k_by_topic.png)"]
    return out


def _latency_section(report: EvalReport) -> list[str]:
    rows = [
        ("assistant: ask", report.assistant.latency_ms),
        ("baseline: search + quotes (query vector given)", report.baseline.latency_ms),
        ("triage: screen", report.triage_latency_ms),
    ]
    out = ["", "## Latency", "", "| path | n | p50 ms | p95 ms | max ms |", "|---|---|---|---|---|"]
    for name, values in rows:
        s = m.latency_summary(values)
        out.append(f"| {name} | {s['n']:.0f} | {s['p50_ms']:.1f} | {s['p95_ms']:.1f} | {s['max_ms']:.1f} |")
    out += [
        "",
        "Wall-clock in one process, model loaded. The assistant's figure includes embedding the question; the"
        " baseline's does not (each question is embedded once, in a batch, and the vector shared), so compare"
        " the two with the query-embedding time of `assistant bench` in mind.",
        "",
        "![latency](latency.png)",
    ]
    return out


def _failures_section(report: EvalReport) -> list[str]:
    a = report.assistant
    out = ["", "## What to look at (assistant)", ""]
    misses = [f"{qid} (rank {a.retrieval.ranks.get(qid) or '>10'})" for qid in a.retrieval.misses]
    out.append(f"- Expected clause not in the top 5: {', '.join(misses) or 'none'}")
    out.append(f"- In-scope questions refused: {', '.join(a.refused_in_scope) or 'none'}")
    out.append(f"- Off-topic questions answered: {', '.join(a.answered_offtopic) or 'none'}")
    invalid = [f"{qid} {problems}" for qid, problems in a.invalid.items()]
    out.append(f"- Answers with invalid citations: {'; '.join(invalid) or 'none'}")
    out.append(f"- Cited sentences not supported: {len(a.support.unsupported)}")
    out += [f'  - {qid}: "{s[:160]}" (similarity {sim:.2f})' for qid, s, sim in a.support.unsupported[:20]]
    out.append(f"- Questions missing must_mention terms: {len(a.coverage.missing)}")
    out += [f"  - {qid}: {', '.join(terms)}" for qid, terms in list(a.coverage.missing.items())[:40]]
    return out


# -- charts ------------------------------------------------------------------------------------------------


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display; also safe in threads and CI
    import matplotlib.pyplot as plt

    return plt


def _confusion_chart(report: EvalReport, path: Path) -> Path:
    plt = _pyplot()
    t = report.triage
    labels = [_SHORT_LEVELS[x] for x in t.labels]
    fig, ax = plt.subplots(figsize=(5.6, 4.8))
    ax.imshow(t.matrix, cmap="Blues")
    top = max((max(row) for row in t.matrix), default=0) or 1
    for r, row in enumerate(t.matrix):
        for c, n in enumerate(row):
            ax.text(c, r, str(n), ha="center", va="center", color="white" if n > top / 2 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=20)
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("level given")
    ax.set_ylabel("expected level")
    ax.set_title(f"Triage: {t.exact}/{t.n} exact")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _topic_chart(report: EvalReport, path: Path) -> Path:
    plt = _pyplot()
    ours, base = report.assistant.per_topic, report.baseline.per_topic
    topics = sorted(ours, key=lambda t: (ours[t]["hit5"] or 0.0, ours[t]["hit1"] or 0.0, t))
    y = list(range(len(topics)))
    height = max(3.0, 0.24 * len(topics) + 1.4)
    fig, axes = plt.subplots(1, 2, figsize=(11, height), sharey=True)
    for ax, key in zip(axes, ("hit1", "hit5"), strict=True):
        # A topic with nothing to score draws no bar (its label still shows); a bar at 0 would claim a miss.
        ax.barh([v + 0.2 for v in y], [ours[t][key] or 0.0 for t in topics], height=0.4, label="assistant")
        ax.barh([v - 0.2 for v in y], [base.get(t, {}).get(key) or 0.0 for t in topics], height=0.4, label="baseline")
        ax.set_xlim(0, 1)
        ax.set_title(f"clause {key.replace('hit', 'hit@')}")
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, [f"{t} ({ours[t]['n']:.0f})" for t in topics], fontsize=7)
    axes[1].legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _latency_chart(report: EvalReport, path: Path) -> Path:
    plt = _pyplot()
    samples = [
        ("assistant ask", report.assistant.latency_ms),
        ("baseline", report.baseline.latency_ms),
        ("triage screen", report.triage_latency_ms),
    ]
    samples = [(name, values) for name, values in samples if values]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    if samples:
        ax.boxplot([v for _, v in samples], vert=False, whis=(5, 95), showfliers=True)
        ax.set_yticks(range(1, len(samples) + 1), [n for n, _ in samples])
        for i, (_, values) in enumerate(samples, 1):
            p95 = m.percentile(values, 0.95)
            ax.annotate(f"p95 {p95:.0f} ms", (p95, i), xytext=(4, 8), textcoords="offset points", fontsize=8)
        ax.set_xscale("log")
    ax.set_xlabel("milliseconds (log scale; whiskers at p5 and p95)")
    ax.set_title("Latency per question or deal")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
