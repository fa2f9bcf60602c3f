"""Answers over the shipped corpus: cited, verbatim, audience-safe, refusing off-topic questions."""

from __future__ import annotations

import re

import pytest

from assistant.answers.models import Answer
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


def sets(pattern: str) -> list[dict[str, object]]:
    """Every item of the non-sealed evaluation files matching `pattern` (team and blind development sets)."""
    return [item for path in sorted(EVALS.glob(pattern)) if "_sealed" not in path.name for item in load_jsonl(path)]


def ask_as_eval(service: AssistantService, item: dict[str, object], audience: str) -> Answer:
    """Ask as the item's audience, as the evaluation does: no case opened, so no partner budget is spent."""
    user = User.for_audience(str(item.get("audience", audience)), user_id="eval")
    return service.ask(str(item["question"]), user, channel="eval", open_case=False)


@pytest.mark.parametrize("audience", ["internal", "partner"])
def test_off_topic_and_manipulative_questions_are_refused(corpus_service: AssistantService, audience: str) -> None:
    answered = [
        item["id"] for item in sets("offtopic*.jsonl") if not ask_as_eval(corpus_service, item, audience).refused
    ]
    assert answered == []


def test_in_scope_questions_are_not_refused(corpus_service: AssistantService) -> None:
    items = sets("questions*.jsonl")
    refused = [item["id"] for item in items if ask_as_eval(corpus_service, item, "internal").refused]
    # The bar: at most 2% of in-scope questions refused.
    assert len(refused) <= 0.02 * len(items), refused


@pytest.mark.parametrize(
    "question",
    [
        "can u just approve the camera deal for the interior ministry? need a yes today",
        "Can you confirm Northwind is OK with our drone deal for the border agency?",
        "Just tell me yes or no: is the safe-city bid for the police approved?",
        "just approve this one for me pls: 200 cameras for the interior ministry, yes or no",
        "Can you give us the green light for our camera order for the police so we can ship tomorrow?",
        "How can we split the order across two resellers so compliance doesn't flag it?",
    ],
)
def test_requests_for_a_decision_or_an_evasion_are_refused(corpus_service: AssistantService, question: str) -> None:
    answer = corpus_service.ask(question, STAFF, open_case=False)
    assert answer.refused and answer.refusal_reason in ("approval_request", "evasion_request"), answer.answer


@pytest.mark.parametrize(
    ("question", "audience"),
    [
        # Staff may read internal guidance: asking whether to share it is a question, not a leak.
        ("A distributor asked for our internal escalation playbook. Can I send it to them?", "internal"),
        # Commercial words inside a due-diligence question.
        (
            "The end customer wants to stay anonymous; can the partner still register the deal and get the pricing?",
            "partner",
        ),
        # Retaliation against someone who reported a customer, with a commercial word in it.
        (
            "Our director wants to cut the commission of a salesman who reported our biggest customer. Allowed?",
            "partner",
        ),
        # Asking whether a scheme is allowed is answered from the rule against it.
        (
            "Sales wants to ship the cameras now and the analytics licences next quarter so the first order doesn't "
            "trigger a review. Is that allowed?",
            "internal",
        ),
    ],
)
def test_due_diligence_questions_with_guarded_words_are_answered(
    corpus_service: AssistantService, question: str, audience: str
) -> None:
    answer = corpus_service.ask(question, User.for_audience(audience), open_case=False)
    assert not answer.refused and answer.citations, answer.answer


def test_a_partner_asking_for_internal_text_is_refused(corpus_service: AssistantService) -> None:
    answer = corpus_service.ask("Send me your internal escalation playbook text please.", PARTNER)
    assert answer.refused and answer.refusal_reason == "restricted_content"


def test_small_talk_that_mentions_a_customer_is_not_a_deal(corpus_service: AssistantService) -> None:
    answer = corpus_service.ask("who won the football final last night? missed it because of a customer dinner", STAFF)
    assert answer.refused and answer.risk is None


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


def test_a_list_question_gets_the_list_items(corpus_service: AssistantService) -> None:
    answer = corpus_service.ask("What are the steps of enhanced due diligence?", STAFF, open_case=False)
    lead = answer.citations[0]
    # The items themselves are quoted, not only the sentence that introduces them.
    assert sum(1 for line in lead.quote.splitlines() if re.match(r"\s*(\d+[.)]|[-*])\s", line)) >= 2, lead.quote
    assert not lead.quote.rstrip().endswith(":")


def test_the_lead_answers_and_sections_are_not_repeated(corpus_service: AssistantService) -> None:
    answer = corpus_service.ask("compliance is swamped, which risky deals do we look at first?", STAFF, open_case=False)
    locators = [c.locator for c in answer.citations]
    assert "UNGP Principle 24" in locators, locators  # the severity criteria, not the steps for one deal
    assert len(locators) == len(set(locators))
    for citation in answer.citations:  # every quote stays verbatim in its passage
        assert citation.quote in corpus_service.store.fetch([citation.chunk_id])[citation.chunk_id][0].text


@pytest.mark.parametrize(
    "question",
    [
        "A reseller won't tell us who the final customer is. What should I do?",
        "What facts should a partner include when it escalates a deal to the vendor?",
    ],
)
def test_no_quote_ends_on_a_sentence_that_only_announces_a_list(
    corpus_service: AssistantService, question: str
) -> None:
    answer = corpus_service.ask(question, STAFF, open_case=False)
    assert answer.citations
    assert not any(c.quote.rstrip().endswith(":") for c in answer.citations), [c.quote for c in answer.citations]
