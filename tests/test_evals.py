"""The evaluation metrics on small hand-made cases whose answers are known, and the report they produce."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assistant.answers.models import Answer, Citation
from assistant.errors import BadInput, ConfigError
from assistant.evals import metrics as m
from assistant.evals.baseline import PrecomputedEmbeddings, opening_quote
from assistant.evals.gate import Threshold, check, load_thresholds
from assistant.evals.runner import main_eval, run_eval
from assistant.knowledge.embeddings import Embedder
from assistant.knowledge.textproc import citation_numbers
from assistant.service import AssistantService

from .conftest import make_settings

CHUNKS = {
    "c1": "Partners must disclose the end user before a quote is issued. Without it the deal is escalated.",
    "c2": "Screening covers restricted parties and sanctioned destinations.",
}


def citation(n: int, chunk_id: str, quote: str, audience: str = "partner") -> Citation:
    return Citation(
        n=n,
        doc_id="d",
        title="T",
        locator=f"L {n}",
        source_type="policy",
        audience=audience,
        quote=quote,
        chunk_id=chunk_id,
    )


def answer(text: str, *citations: Citation, refused: bool = False) -> Answer:
    return Answer(question="q", answer=text, refused=refused, citations=list(citations))


# -- citation validity -------------------------------------------------------------------------------------


def test_valid_citations_pass() -> None:
    a = answer(
        "Partners must disclose the end user before a quote is issued. [1]",
        citation(1, "c1", "Partners must disclose the end user before a quote is issued."),
    )
    assert m.check_citations(a, CHUNKS.get, ("public", "partner")).valid


def test_out_of_range_marker_is_caught() -> None:
    a = answer("Disclose the end user [1]. Screen parties [3].", citation(1, "c1", "Partners must disclose"))
    result = m.check_citations(a, CHUNKS.get)
    assert not result.valid
    assert result.dangling_markers == [3]


def test_grouped_markers_are_each_checked() -> None:
    # the same parser as production's verifier: grouped, semicolon-separated and spaced markers
    assert citation_numbers("see [1, 4] and [2]; also [3; 5] and [ 6 ]") == [1, 4, 2, 3, 5, 6]
    a = answer("Both rules apply [1, 2].", citation(1, "c1", "Partners must disclose"))
    assert m.check_citations(a, CHUNKS.get).dangling_markers == [2]


def test_non_verbatim_quote_is_caught() -> None:
    # A paraphrase in the quote field is not a quote, however close in meaning.
    a = answer("Disclose the end user [1].", citation(1, "c1", "Partners have to disclose the end user."))
    result = m.check_citations(a, CHUNKS.get)
    assert result.non_verbatim == [1]
    assert not result.valid


def test_unknown_chunk_and_wrong_audience_are_caught() -> None:
    a = answer(
        "x [1] y [2]",
        citation(1, "gone", "anything"),
        citation(2, "c2", "Screening covers restricted parties", audience="internal"),
    )
    result = m.check_citations(a, CHUNKS.get, ("public", "partner"))
    assert result.unknown_chunks == [1]
    assert result.wrong_audience == [2]


# -- must_mention ------------------------------------------------------------------------------------------


def test_mentions_ignores_case_and_inflection() -> None:
    assert m.mentions("Resellers", "every reseller must sign")
    assert m.mentions("screening", "we screen the parties")
    assert m.mentions("end user", "The END USERS of the cameras")
    assert not m.mentions("end user", "the end of the deal")


def test_coverage_counts_terms_in_quotes_and_nothing_for_refusals() -> None:
    items = [
        {"id": "a", "must_mention": ["end user", "sanctioned destination"]},
        {"id": "b", "must_mention": ["leverage"]},
    ]
    answers = {
        "a": answer("Ask who buys [1].", citation(1, "c2", "Screening covers sanctioned destinations")),
        "b": answer("Use your leverage.", refused=True),
    }
    cov = m.must_mention_coverage(answers, items)
    assert (cov.terms, cov.found, cov.questions, cov.complete) == (3, 1, 2, 0)
    assert cov.coverage == pytest.approx(1 / 3)
    assert cov.missing == {"a": ["end user"], "b": ["leverage"]}


# -- citation support --------------------------------------------------------------------------------------


def test_sentences_take_the_marker_that_follows_them() -> None:
    text = (
        "Risk: escalate now. Do not ship.\nFirst point here. Second point here [1]\n\n"
        "Next steps:\n1. Ask them twice [2]"
    )
    got = [(s.text, s.cites) for s in m.cited_sentences(text)]
    assert got == [
        ("Risk: escalate now", []),
        ("Do not ship", []),
        ("First point here", [1]),
        ("Second point here", [1]),
        ("Ask them twice", [2]),
    ]


def test_support_verbatim_paraphrase_and_unrelated(embedder: Embedder) -> None:
    vectors = dict(zip(CHUNKS, embedder.embed_documents(list(CHUNKS.values())), strict=True))
    quote = "Partners must disclose the end user before a quote is issued."
    answers = {
        "verbatim": answer(f"{quote} [1]", citation(1, "c1", quote)),
        "paraphrase": answer("The partner has to reveal the end user before quoting. [1]", citation(1, "c1", quote)),
        "unrelated": answer("Our cafeteria serves pasta on Fridays. [1]", citation(1, "c1", quote)),
        "dangling": answer("Partners must disclose the end user. [4]", citation(1, "c1", quote)),
    }
    support = m.citation_support(answers, embedder.embed_documents, CHUNKS.get, vectors.get)
    assert support.sentences == 4
    assert support.verbatim == 1
    assert sorted(qid for qid, _, _ in support.unsupported) == ["dangling", "unrelated"]
    assert support.rate == pytest.approx(0.5)


def test_support_does_not_embed_when_every_sentence_is_verbatim() -> None:
    def no_model(texts: list[str]) -> np.ndarray:
        raise AssertionError("verbatim sentences need no embedding")

    a = answer("Screening covers restricted parties and sanctioned destinations. [1]", citation(1, "c2", "Screening"))
    support = m.citation_support({"a": a}, no_model, CHUNKS.get, lambda _: None)
    assert (support.sentences, support.supported) == (1, 1)


# -- retrieval, refusals, triage ---------------------------------------------------------------------------


def test_retrieval_scores_on_known_ranks() -> None:
    items = [
        {"id": "q1", "expected_locators": ["HREU 4.2"]},
        {"id": "q2", "expected_locators": ["UNGP Principle 13"]},
        {"id": "q3", "expected_doc_ids": ["bis-red-flags"]},
        {"id": "q4", "expected_locators": ["RAS 6.2"]},
    ]
    other = {"locator": "X 1", "doc_id": "x"}
    ranked = {
        "q1": [{"locator": "HREU 4.2", "doc_id": "hreu"}],
        "q2": [other, other, {"locator": "UNGP Principle 13, p. 14", "doc_id": "ungp"}],
        "q3": [other] * 6 + [{"locator": "BIS 1", "doc_id": "bis-red-flags"}],
        "q4": [{"locator": "RAS 1.1", "doc_id": "ras"}],
    }
    scores = m.retrieval_scores(ranked, items, {"HREU 4.2": "hreu", "UNGP Principle 13": "ungp", "RAS 6.2": "ras"})
    assert scores.ranks == {"q1": 1, "q2": 3, "q3": 7, "q4": None}
    assert scores.hit1 == pytest.approx(1 / 4)
    assert scores.hit5 == pytest.approx(2 / 4)
    assert scores.mrr10 == pytest.approx((1 + 1 / 3 + 1 / 7) / 4)
    assert scores.doc_hit5 == pytest.approx(3 / 4)  # q4 found the right document, not the clause
    assert scores.misses == ["q3", "q4"]


def test_refusal_rate() -> None:
    assert m.refusal_rate([answer("no", refused=True), answer("yes")]) == 0.5


def test_triage_scores_on_known_outcomes() -> None:
    scores = m.triage_scores(
        [
            ("a", "proceed", "proceed"),
            ("b", "proceed", "escalate"),
            ("c", "escalate", "enhanced_due_diligence"),
            ("d", "prohibited", "escalate"),
            ("e", "enhanced_due_diligence", "enhanced_due_diligence"),
        ]
    )
    assert scores.matrix[0] == [1, 0, 1, 0]
    assert scores.accuracy == pytest.approx(2 / 5)
    assert scores.escalation_recall == pytest.approx(1 / 2)  # d counts: prohibited read as escalate still escalates
    assert scores.false_escalation_rate == pytest.approx(1 / 2)
    assert scores.under_triage_rate == pytest.approx(2 / 5)
    with pytest.raises(ValueError, match="unknown level"):
        m.triage_scores([("x", "maybe", "proceed")])


def test_latency_summary() -> None:
    s = m.latency_summary([float(x) for x in range(1, 101)])
    assert (s["p50_ms"], s["p95_ms"], s["max_ms"]) == (51.0, 95.0, 100.0)


# -- gate --------------------------------------------------------------------------------------------------


def test_gate_checks_bounds_baseline_and_missing_metrics() -> None:
    bars = [
        Threshold("a", "r", min=0.5),
        Threshold("b", "r", max=0.0),
        Threshold("c", "r", min_over_baseline=0.1),
        Threshold("typo", "r", min=0.0),
    ]
    results = {c.metric: c.ok for c in check(bars, {"a": 0.6, "b": 1.0, "c": 0.7}, {"c": 0.65})}
    assert results == {"a": True, "b": False, "c": False, "typo": False}


def test_thresholds_need_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("thresholds:\n  retrieval.hit1:\n    min: 0.5\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="reason"):
        load_thresholds(path)


# -- baseline pieces ---------------------------------------------------------------------------------------


def test_opening_quote_is_verbatim_and_bounded() -> None:
    text = "First sentence here. Second one follows. " + "Long " * 100 + "tail."
    quote = opening_quote(text, limit=60)
    assert quote == "First sentence here. Second one follows."
    assert quote in text


def test_embedder_adapter_reuses_known_vectors(embedder: Embedder) -> None:
    known = {"stored text": np.ones(384, dtype=np.float32)}
    adapter = PrecomputedEmbeddings(embedder, known)
    vectors = adapter.embed_documents(["stored text", "fresh text"])
    assert vectors[0] == [1.0] * 384
    assert len(vectors[1]) == 384 and abs(np.linalg.norm(vectors[1]) - 1) < 1e-4


# -- the run and its report --------------------------------------------------------------------------------


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_small_run_writes_report_with_charts(corpus_service: AssistantService, tmp_path: Path) -> None:
    questions = write_jsonl(
        tmp_path / "q.jsonl",
        [
            {
                "id": "q1",
                "question": "What does UNGP Principle 19 say about leverage?",
                "audience": "partner",
                "expected_locators": ["UNGP Principle 19"],
                "must_mention": ["leverage"],
                "topic": "leverage",
            },
            {
                "id": "q2",
                "question": "Which red flags should a partner's sales staff watch for?",
                "expected_doc_ids": ["no-such-doc"],
                "must_mention": ["red flag"],
                "topic": "red-flags",
            },
        ],
    )
    offtopic = write_jsonl(tmp_path / "o.jsonl", [{"id": "o1", "question": "What's a good lasagne recipe?"}])
    deals = write_jsonl(
        tmp_path / "d.jsonl",
        [
            {"id": "d1", "scenario": "Wi-Fi access points for a café chain in Nairobi.", "expected": "proceed"},
            {
                "id": "d2",
                "scenario": "Partner in Dubai wants servers for a university in Tehran.",
                "expected": "prohibited",
            },
        ],
    )
    out = tmp_path / "report"
    report = run_eval(
        corpus_service, questions=questions, deals=deals, offtopic=offtopic, report_dir=out, thresholds=None
    )

    assert report.assistant.retrieval.ranks["q1"] == 1
    assert "q2" in report.assistant.retrieval.misses
    assert report.assistant.offtopic_refused == 1.0 and report.baseline.offtopic_refused == 0.0
    assert report.triage.n == 2
    assert report.assistant.citation_validity == 1.0
    for name in ("report.md", "report.json", "confusion_matrix.png", "hit_at_k_by_topic.png", "latency.png"):
        assert (out / name).stat().st_size > 0, name
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "Quality gate: no thresholds applied" in md
    assert "| clause hit@1 (`retrieval.hit1`) | 0.500 |" in md
    assert "![confusion matrix](confusion_matrix.png)" in md
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["triage"]["baseline"] is None
    assert set(data["metrics"]) >= set(data["baseline_metrics"])


def test_missing_data_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such file"):
        main_eval(make_settings(tmp_path / "home"), questions=tmp_path / "nope.jsonl")


def test_scale_code_path_on_a_small_synthetic_index(tmp_path: Path) -> None:
    # The real scale run (100,000 chunks) is `assistant bench --scale`; this only exercises its code,
    # including the two fresh reading processes it measures.
    from assistant.evals.scale import run_scale

    from .conftest import EVALS

    result = run_scale(
        make_settings(tmp_path / "home"), EVALS / "questions.jsonl", n_chunks=600, rounds=1, max_questions=3
    )
    data = result.to_json()
    keys = {
        "reader_rss_mib",
        "staff_p50_ms",
        "staff_p95_ms",
        "partner_p95_ms",
        "embed_p50_ms",
        "embed_p95_ms",
        "build_s",
    }
    assert keys <= set(data)
    assert data["chunks"] == 600 and data["chroma"] == "embedded" and data["lexical"] == "sqlite"
    assert all(data[k] > 0 for k in keys - {"reader_rss_mib"})
    assert any("partner query p95" in f.name for f in result.figures())


def test_scale_chunks_out_of_range_is_bad_input(tmp_path: Path) -> None:
    from assistant.evals.scale import run_scale

    from .conftest import EVALS

    with pytest.raises(BadInput, match="--chunks must be between"):
        run_scale(make_settings(tmp_path / "home"), EVALS / "questions.jsonl", n_chunks=0)


def test_malformed_data_sets_are_bad_input(corpus_service: AssistantService, tmp_path: Path) -> None:
    good = write_jsonl(tmp_path / "q.jsonl", [{"id": "q1", "question": "What is leverage?"}])
    twice = write_jsonl(tmp_path / "twice.jsonl", [{"id": "a", "question": "x"}, {"id": "a", "question": "y"}])
    level = write_jsonl(tmp_path / "d.jsonl", [{"id": "d1", "scenario": "Servers.", "expected": "fine"}])
    with pytest.raises(BadInput, match="repeats id"):
        run_eval(corpus_service, questions=twice, deals=level, offtopic=good, thresholds=None)
    with pytest.raises(BadInput, match="expected must be one of"):
        run_eval(corpus_service, questions=good, deals=level, offtopic=good, thresholds=None)


def test_a_clause_expectation_is_not_met_by_another_clause_of_the_same_document() -> None:
    item = {"id": "q", "expected_locators": ["HREU 4.2"], "expected_doc_ids": ["hreu"]}
    assert m.is_expected({"locator": "HREU 4.2, p. 3", "doc_id": "hreu"}, item)
    assert not m.is_expected({"locator": "HREU 7.1", "doc_id": "hreu"}, item)
    assert m.is_expected({"locator": "HREU 7.1", "doc_id": "hreu"}, {"id": "q", "expected_doc_ids": ["hreu"]})


def test_figures_without_data_are_not_measured_rather_than_zero() -> None:
    items = [{"id": "q1", "question": "x", "must_mention": []}]
    scores = m.retrieval_scores({"q1": [{"locator": "HREU 4.2"}]}, items, {})
    assert scores.n == 0 and scores.hit5 is None and scores.mrr10 is None
    assert m.must_mention_coverage({"q1": answer("anything")}, items).coverage is None
    share, missed = m.cites_expected({"q1": answer("anything")}, items)
    assert share is None and missed == []


def test_cites_expected_counts_refusals_as_misses() -> None:
    items = [{"id": "q1", "expected_locators": ["L 1"]}, {"id": "q2", "expected_locators": ["L 1"]}]
    cited = answer("Partners must disclose the end user. [1]", citation(1, "c1", "x"))
    share, missed = m.cites_expected({"q1": cited, "q2": answer("no", refused=True)}, items)
    assert share == pytest.approx(0.5) and missed == ["q2"]


def test_answers_only_reports_each_set_and_na_for_what_it_cannot_measure(
    corpus_service: AssistantService, tmp_path: Path
) -> None:
    from assistant.evals.answer_sets import score_answer_set

    located = [
        {
            "id": "a1",
            "question": "what do we do if a reseller wont say who the customer is",
            "audience": "partner",
            "expected_locators": ["HREU 4.2"],
            "must_mention": ["end user"],
        }
    ]
    bare = [{"id": "b1", "question": "Which red flags should a partner's sales staff watch for?"}]
    offtopic = [{"id": "o1", "question": "What's a good lasagne recipe?"}]

    with_locators = score_answer_set(corpus_service, "located", located).to_dict()
    assert with_locators["hit5"] is not None and with_locators["cites_expected"] is not None
    assert with_locators["partner_leaks"] == 0 and with_locators["offtopic_refused"] is None

    without = score_answer_set(corpus_service, "bare", bare, offtopic).to_dict()
    assert without["hit5"] is None and without["cites_expected"] is None and without["must_mention_coverage"] is None
    assert without["false_refusals"] == 0.0 and without["offtopic_refused"] == 1.0
