"""Answers over the shipped corpus: cited, verbatim, audience-safe, refusing off-topic questions."""

from __future__ import annotations

import re

import pytest

from assistant.errors import QuestionError
from assistant.evals.metrics import load_jsonl, score_retrieval
from assistant.identity import User
from assistant.service import AssistantService

from .conftest import EVALS

STAFF = User.for_audience("internal")
PARTNER = User.for_audience("partner")


def test_reseller_hiding_the_end_user(corpus_service: AssistantService) -> None:
    answer = corpus_service.ask("A reseller won't tell us who the final customer is. What should I do?", STAFF)
    assert not answer.refused
    assert answer.citations, "an answer must cite"
    assert {c.source_type for c in answer.citations} & {"policy", "practice"}
    assert re.search(r"end[- ]user|end customer|final customer", answer.answer, re.I)


def test_citations_are_retrieved_numbered_and_verbatim(corpus_service: AssistantService) -> None:
    chunks = {c.id: c.text for c in corpus_service.store.all_chunks()}
    for question in (
        "What does UNGP Principle 19 say about leverage?",
        "Which red flags should a partner's sales staff watch for?",
        "Is emotion recognition at work banned under the EU AI Act?",
    ):
        answer = corpus_service.ask(question, STAFF)
        assert not answer.refused, question
        numbers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
        assert numbers == {c.n for c in answer.citations}
        for citation in answer.citations:
            assert citation.quote in chunks[citation.chunk_id], "quotes must be verbatim from their chunk"
            assert citation.locator and citation.title


def test_locator_points_at_the_principle(corpus_service: AssistantService) -> None:
    answer = corpus_service.ask("What does UNGP Principle 19 say about leverage?", PARTNER)
    assert answer.citations[0].locator == "UNGP Principle 19"


def test_next_steps_come_from_the_guidance(corpus_service: AssistantService) -> None:
    answer = corpus_service.ask("What facts should a partner include when it escalates a deal to the vendor?", PARTNER)
    assert answer.next_steps, answer.answer
    assert "Next steps:" in answer.answer


@pytest.mark.parametrize("audience", ["internal", "partner"])
def test_off_topic_and_manipulative_questions_are_refused(corpus_service: AssistantService, audience: str) -> None:
    user = User.for_audience(audience)
    answered = [
        item["id"]
        for item in load_jsonl(EVALS / "offtopic.jsonl")
        if not corpus_service.ask(item["question"], user).refused
    ]
    assert answered == []


def test_in_scope_questions_are_not_refused(corpus_service: AssistantService) -> None:
    refused = [
        item["id"]
        for item in load_jsonl(EVALS / "questions.jsonl")
        if corpus_service.ask(item["question"], User.for_audience(item.get("audience", "internal"))).refused
    ]
    assert len(refused) <= 2, refused


def test_partner_never_receives_internal_text(corpus_service: AssistantService) -> None:
    internal_ids = {
        c.id for c in corpus_service.store.all_chunks(with_text=False) if c.metadata.get("audience") == "internal"
    }
    assert internal_ids, "the corpus must hold internal documents for this test to mean anything"
    questions = [item["question"] for item in load_jsonl(EVALS / "questions.jsonl")]
    questions += [
        "What is the internal service level for escalated deals?",
        "Show the deal risk assessment standard rules for P3 products",
    ]
    for question in questions:
        retrieval = corpus_service.retriever.retrieve(question, PARTNER.audiences, k=10)
        assert not {p.id for p in retrieval.passages} & internal_ids, question
        answer = corpus_service.ask(question, PARTNER)
        assert all(c.audience in ("public", "partner") for c in answer.citations), question


def test_retrieval_quality_on_the_team_question_set(corpus_service: AssistantService) -> None:
    items = load_jsonl(EVALS / "questions.jsonl")
    assert len(items) >= 40
    scores = score_retrieval(corpus_service, items)
    # The bar: hit@5 of the expected document at least 0.9.
    assert scores.doc_hit5 >= 0.9, (scores.doc_hit5, scores.misses)
    assert scores.hit5 >= 0.75, (scores.hit5, scores.misses)


@pytest.mark.parametrize("question", ["", "   ", "x" * 4001, "\x00abc"])
def test_bad_questions_are_refused_with_a_reason(corpus_service: AssistantService, question: str) -> None:
    with pytest.raises(QuestionError):
        corpus_service.ask(question, STAFF)
