"""The assistant service: one object that the CLI, the web app and the Slack app all call.

Flow of `ask`: validate → guard → retrieve (audience-filtered) → compose → answer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .answers.citations import LocatorIndex
from .answers.extractive import Composed, ExtractiveComposer, refusal
from .answers.guard import check as guard_check
from .answers.models import Answer, Citation, Risk, Screening, ScreenReason
from .config import MAX_QUESTION_CHARS, Settings
from .enums import CASE_LEVELS, LEVEL_LABELS, UNDECIDED, Role
from .errors import NotFound, OverBudget, PermissionDenied, QuestionError
from .identity import STAFF_ORG, User
from .knowledge.embeddings import Embedder
from .knowledge.ingest import Ingestor, IngestReport
from .knowledge.lexical import LexicalIndex, sync
from .knowledge.limits import IngestLimits
from .knowledge.retrieval import Retriever
from .knowledge.store import VectorStore
from .knowledge.vocabulary import load_vocabulary

if TYPE_CHECKING:
    from .answers.llm import LLMComposer
    from .cases import Case, CaseStore
    from .cases.audit import VerifyReport
    from .cases.party_lists import ListInfo, PartyLists
    from .cases.screenings import ScreeningLog
    from .cases.views import CaseListItem, CaseView
    from .knowledge.langchain_adapters import GuidanceEmbeddings, GuidanceRetriever
    from .records.api_keys import ApiKey, ApiKeys
    from .records.events import EventLog
    from .records.feedback import FeedbackLog
    from .risk.screening import PartyHit, PartyScreener
    from .risk.triage import DealFields, TriageEngine, TriageResult

log = logging.getLogger(__name__)
MAX_DEAL_CHARS = MAX_QUESTION_CHARS


@dataclass(frozen=True)
class SourceInfo:
    """One indexed document, as `assistant sources` lists it."""

    doc_id: str
    title: str
    source_type: str
    audience: str
    version: str
    effective_date: str
    url: str
    chunks: int
    source_path: str


def validate_question(question: object) -> str:
    """The question stripped, or QuestionError for empty, over-long or non-text input."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text")
    text = question.strip()
    if not text:
        raise QuestionError("the question is empty")
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is {len(text)} characters long; the limit is {MAX_QUESTION_CHARS}")
    if "\x00" in text:
        raise QuestionError("the question contains a NUL character")
    return text


class AssistantService:
    """Answers questions from the indexed guidance and keeps that index up to date."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder or Embedder(settings.embedding_model)
        self.store = VectorStore(settings)
        self._cases: CaseStore | None = None
        self.lexical = self._open_lexical()
        self.retriever = Retriever(
            self.store,
            self.lexical,
            self.embedder,
            settings.dense_k,
            settings.lexical_k,
            vocabulary=load_vocabulary(settings.vocabulary_path),
        )
        self.composer = ExtractiveComposer(
            idf=self.lexical.term_idf,
            min_similarity=settings.min_similarity,
            max_passages=settings.answer_passages,
        )
        self.llm_composer: LLMComposer | None = None
        if settings.llm:
            from .answers.llm import LLMComposer

            self.llm_composer = LLMComposer.from_settings(settings, self.embedder, self.composer)
        self._triage: TriageEngine | None = None
        self._locators = LocatorIndex(self.store, self.lexical)

    def _open_lexical(self) -> LexicalIndex:
        """The lexical index: in the case database when that is PostgreSQL (one index for every replica),
        else an SQLite FTS5 file under ASSISTANT_HOME (one per host, shared through the page cache)."""
        if self.settings.database_url.get_secret_value().startswith(("postgresql", "postgres://")):
            from .knowledge.lexical_postgres import PostgresLexicalIndex

            return PostgresLexicalIndex(self.cases.engine, self.settings.collection)
        from .knowledge.lexical_sqlite import SqliteLexicalIndex

        return SqliteLexicalIndex(self.settings.lexical_path)

    # -- indexing -----------------------------------------------------------------------------------------

    def ingest(self, paths: Sequence[Path], audience: str | None = None, progress: bool = False) -> IngestReport:
        """Ingest files/folders incrementally and bring the lexical index in step.

        `audience` is a ceiling that front matter may narrow, never widen (see Ingestor.run)."""
        limits = IngestLimits.from_settings(self.settings)
        report = Ingestor(self.store, self.embedder, limits).run(paths, audience, progress=progress)
        # Always, not only when something changed: this also finishes the lexical side of an ingest that
        # was cut short after its store writes.
        sync(self.store, self.lexical)
        return report

    def ensure_indexed(self) -> IngestReport | None:
        """Index the shipped corpus when the index is empty (first use)."""
        stored = self.store.count()
        if stored > 0:
            if self.lexical.count() != stored:  # an index built before the lexical store, or cut short
                log.info("lexical index out of step with the store; syncing")
                sync(self.store, self.lexical)
            return None
        log.info("index is empty; indexing the shipped corpus", extra={"corpus": str(self.settings.corpus)})
        return self.ingest([self.settings.corpus])  # front matter decides; files without it are internal

    def warm_up(self) -> None:
        """Load the model and open the lexical index now, so the first question is not slow."""
        self.embedder.model()
        self.lexical.count()
        _ = self.triage

    def start(self) -> None:
        """What every door does before its first request: index the shipped corpus on first use (or bring
        the lexical index in step), then load the model and the triage engine so no request pays for it."""
        self.ensure_indexed()
        self.warm_up()

    def langchain_embeddings(self) -> GuidanceEmbeddings:
        """The embedding model as a LangChain `Embeddings` (the vectors the index holds)."""
        from .knowledge.langchain_adapters import GuidanceEmbeddings

        return GuidanceEmbeddings(self.embedder)

    def langchain_retriever(self, user: User, k: int = 5) -> GuidanceRetriever:
        """Hybrid retrieval as a LangChain retriever, bound to what `user` may read (a partner's never
        returns an internal passage)."""
        from .knowledge.langchain_adapters import GuidanceRetriever

        return GuidanceRetriever(retriever=self.retriever, audiences=tuple(user.audiences), k=k)

    def sources(self, user: User | None = None) -> list[SourceInfo]:
        """The indexed documents (only those the user may read, when a user is given)."""
        docs: dict[str, SourceInfo] = {}
        counts: dict[str, int] = {}
        for chunk in self.store.all_chunks(with_text=False):
            meta = chunk.metadata
            if user is not None and meta.get("audience") not in user.audiences:
                continue
            doc_id = str(meta.get("doc_id"))
            counts[doc_id] = counts.get(doc_id, 0) + 1
            docs.setdefault(
                doc_id,
                SourceInfo(
                    doc_id=doc_id,
                    title=str(meta.get("title", "")),
                    source_type=str(meta.get("source_type", "")),
                    audience=str(meta.get("audience", "")),
                    version=str(meta.get("version", "")),
                    effective_date=str(meta.get("effective_date", "")),
                    url=str(meta.get("url", "")),
                    chunks=0,
                    source_path=str(meta.get("source_path", "")),
                ),
            )
        return sorted(
            (SourceInfo(**{**d.__dict__, "chunks": counts[k]}) for k, d in docs.items()),
            key=lambda s: (s.source_type, s.doc_id),
        )

    # -- answering ----------------------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        user: User,
        *,
        channel: str = "cli",
        open_case: bool = True,
        idempotency_key: str | None = None,
        on_partial: Callable[[str], None] | None = None,
    ) -> Answer:
        """Answer one question from the guidance the user may read, with citations, or refuse.

        The question is also triaged: when it describes a deal at escalate or prohibited, the answer says
        so first and a compliance case is opened (once per idempotency key). `on_partial` receives the
        answer text as it grows when the answer is generated in pieces (doors use it to stream).
        """
        text = validate_question(question)
        started = time.perf_counter()
        search_text = self.retriever.query_text(text)
        verdict = guard_check(text, user.is_partner)
        reading = self.triage.read(text)
        # The lexical query needs no vector: it runs while the model embeds.
        lexical = self.retriever.start_lexical(text, user.audiences) if verdict is None else None
        # One call to the model for every vector this ask needs: the question with its vocabulary equivalents
        # (retrieval) and what triage compares by meaning (the question, or each of its clauses; nothing for
        # a text the policy's words already show is no deal).
        vectors = self.embedder.embed_many([search_text, *reading.to_embed])
        triage = self.triage.assess(text=text, embeddings=vectors, reading=reading)
        generator, fallback_reason, prompt_version = "extractive", None, None
        if verdict is not None:
            composed = refusal(verdict.reason, verdict.message)
        else:
            retrieval = self.retriever.retrieve(
                text, user.audiences, k=8, query_embedding=vectors[search_text], lexical=lexical
            )
            if self.llm_composer is None:
                composed = self.composer.compose(retrieval, text)
            else:
                from .answers.llm import with_prefix

                partial = on_partial
                if on_partial is not None and triage.describes_deal and triage.level in CASE_LEVELS:
                    # Streamed text shows the risk first too; the final answer adds the case reference.
                    lead = _risk_banner(triage.level, self._reasons(triage, user), None) + "\n\n"
                    partial = with_prefix(on_partial, lead)
                generated = self.llm_composer.compose(text, retrieval, on_partial=partial)
                composed = generated.composed
                generator, fallback_reason = generated.generator, generated.fallback_reason
                prompt_version = generated.prompt_version
        risk: Risk | None = None
        case_ref: str | None = None
        answer_text = composed.text
        if triage.describes_deal:
            reasons = self._reasons(triage, user)
            risk = Risk(level=triage.level, reasons=[r.model_dump() for r in reasons])
            if composed.refused and composed.refusal_reason == "weak_evidence":
                # A deal with no close guidance passage still gets its triage: the reasons, cited, and
                # the steps the policy requires, rather than a refusal.
                composed = _deal_answer(reasons, self._next_steps(triage, user))
                answer_text = composed.text
            if triage.level in CASE_LEVELS:
                # Every escalate or prohibited deal leaves a trace: only staff may skip the case, and then
                # the screening is still recorded.
                if open_case or not _may_skip_case(user, channel):
                    case_ref = self._open_case(
                        text, triage, user, channel, idempotency_key, prompt_version=prompt_version, shown=reasons
                    ).ref
                else:
                    self._record_screening(text, triage, user, channel)
                # When the answer already lists the reasons, the banner need not repeat the first one.
                banner_reasons = [] if answer_text.startswith("Why:") else reasons
                answer_text = _risk_banner(triage.level, banner_reasons, case_ref) + "\n\n" + answer_text
        elapsed = (time.perf_counter() - started) * 1000
        log.info(
            "answered",
            extra={"user": user.id, "refused": composed.refused, "case": case_ref, "elapsed_ms": round(elapsed, 1)},
        )
        return Answer(
            question=text,
            answer=answer_text,
            refused=composed.refused,
            refusal_reason=composed.refusal_reason,
            citations=composed.citations,
            next_steps=composed.next_steps,
            risk=risk,
            case_ref=case_ref,
            elapsed_ms=round(elapsed, 2),
            generator=generator,
            fallback_reason=fallback_reason,
            prompt_version=prompt_version,
        )

    # -- deals --------------------------------------------------------------------------------------------

    @property
    def triage(self) -> TriageEngine:
        """The triage engine over the risk policy files (loaded, and validated, on first use)."""
        if self._triage is None:
            from .risk.policy import load_risk_policy
            from .risk.triage import TriageEngine

            folder = self.settings.risk_folder
            policy = load_risk_policy(folder)
            self._triage = TriageEngine(policy, self.embedder, self.party_screener(), self._llm_signal_reader(policy))
        return self._triage

    # -- restricted-party lists ----------------------------------------------------------------------------

    def party_screener(self, threshold: float | None = None) -> PartyScreener:
        """The screening back-end: yente when ASSISTANT_YENTE_URL is set; else the lists loaded into the case
        database (`assistant parties load`), and the shipped sample CSV while none is loaded."""
        from .risk.list_screener import StoredListScreener
        from .risk.screening import DEFAULT_THRESHOLD, create_screener

        csv_path = self.default_party_list
        if self.settings.yente_url.strip():
            return create_screener(csv_path, self.settings.yente_url, threshold=threshold or DEFAULT_THRESHOLD)
        fallback = create_screener(csv_path, threshold=threshold or DEFAULT_THRESHOLD)
        return StoredListScreener(self.party_lists, fallback, threshold=threshold or DEFAULT_THRESHOLD)

    @property
    def party_lists(self) -> PartyLists:
        """The restricted-party lists loaded into the case database."""
        from .cases.party_lists import PartyLists

        return PartyLists(self.cases.engine)

    def load_party_list(self, paths: Sequence[Path], user: User, list_name: str | None = None) -> ListInfo:
        """Read one list's files (format detected from their content) and put it in force, replacing the
        list of the same name in one transaction. A file that cannot be read changes nothing."""
        from .cases.party_lists import EntryRow, NameRow
        from .risk.list_formats import read_list_files
        from .risk.list_screener import index_entry

        self._require_decider(user, "load restricted-party lists")
        parsed = read_list_files(list(paths))
        name = (list_name or parsed.default_name).strip()
        if not name or len(name) > 200:
            raise QuestionError("the list name must be 1 to 200 characters")
        entries = [
            EntryRow(
                key=entry.key,
                name=entry.name,
                kind=entry.kind,
                programs=entry.programs,
                countries=entry.countries,
                listed_on=entry.listed_on,
                source=entry.source,
                names=[
                    NameRow(n.label, n.strength, n.tokens, n.removed, n.anchors, n.keys) for n in index_entry(entry)
                ],
            )
            for entry in parsed.entries
        ]
        info = self.party_lists.replace(
            name=name,
            version=parsed.digest,
            format=parsed.format,
            source_files=[Path(f).name for f in parsed.source_files],
            published=parsed.published,
            loaded_by=user.id,
            entries=entries,
        )
        log.info(
            "restricted-party list loaded",
            extra={"event": "party_list_loaded", "list": info.name, "version": info.version, "entries": info.entries},
        )
        return info

    def party_lists_in_force(self) -> list[ListInfo]:
        """The restricted-party lists loaded into the case database, each with its version and source."""
        return self.party_lists.lists()

    def remove_party_list(self, name: str, user: User) -> bool:
        """Take a list out of force (compliance only); False when no list has that name."""
        self._require_decider(user, "remove restricted-party lists")
        removed = self.party_lists.remove(name)
        if removed:
            log.info("restricted-party list removed", extra={"event": "party_list_removed", "list": name})
        return removed

    @property
    def default_party_list(self) -> Path:
        """The file screening reads while no list is loaded."""
        return self.settings.risk_folder / "restricted_parties.csv"

    def search_parties(self, name: str, countries: Sequence[str] = (), *, threshold: float) -> list[PartyHit]:
        """The listed parties a name matches at or above `threshold` (lower than the screening's to see near
        misses), best first."""
        text = validate_question(name)
        return self.party_screener(threshold).screen_names([text], countries=countries)

    def _llm_signal_reader(self, policy: Any) -> Any:
        """With ASSISTANT_LLM set, an LLM reading of each deal that can only raise its level; else None."""
        if not self.settings.llm:
            return None
        from .answers.llm import build_chat_model
        from .answers.prompts import load_prompt
        from .risk.llm_signals import LLMSignalReader

        version, prompt = load_prompt("deal_signals")
        return LLMSignalReader(build_chat_model(self.settings, f"deal_signals.{version}"), prompt, version, policy)

    @property
    def cases(self) -> CaseStore:
        """The compliance case store (SQLite under ASSISTANT_HOME unless ASSISTANT_DATABASE_URL is set)."""
        if self._cases is None:
            from .cases import create_case_store

            self._cases = create_case_store(self.settings)
        return self._cases

    def screen(
        self,
        deal: str | DealFields,
        user: User,
        *,
        open_case: bool = True,
        channel: str = "cli",
        idempotency_key: str | None = None,
    ) -> Screening:
        """Triage a deal (free text or structured fields) and open a case when it needs compliance."""
        from .risk.triage import DealFields

        started = time.perf_counter()
        if isinstance(deal, DealFields):
            text = validate_deal(deal.as_text())
            result = self.triage.assess(fields=deal, is_deal=True)
        else:
            text = validate_deal(deal)
            result = self.triage.assess(text=text, is_deal=True)
        reasons = self._reasons(result, user)
        case_ref = None
        if result.level in CASE_LEVELS:
            # Every escalate or prohibited screening leaves a trace: partners cannot opt out of the case,
            # and a staff opt-out (the CLI's --no-case, evaluations) is still recorded.
            if open_case or not _may_skip_case(user, channel):
                case_ref = self._open_case(text, result, user, channel, idempotency_key, shown=reasons).ref
            else:
                self._record_screening(text, result, user, channel)
        return self._screening(result, reasons, user, case_ref, started)

    @staticmethod
    def deal_from(scenario: str | None, fields: DealFields) -> str | DealFields:
        """The one rule every door uses to combine a free-text scenario with structured deal fields: with no
        field filled in, the scenario alone; otherwise the fields, the scenario leading their notes."""
        text = (scenario or "").strip()
        if not fields.as_text():
            return text
        if not text:
            return fields
        notes = " ".join(part for part in (text, fields.notes.strip()) if part)
        return dataclasses.replace(fields, notes=notes)

    def escalate(
        self,
        deal: str,
        user: User,
        *,
        channel: str = "cli",
        idempotency_key: str | None = None,
    ) -> Screening:
        """Open a case because the user asked compliance to review the deal, whatever level triage gives.

        The level stays the triaged one: asking for a review never lowers or raises it.
        """
        text = validate_deal(deal)
        started = time.perf_counter()
        result = self.triage.assess(text=text, is_deal=True)
        reasons = self._reasons(result, user)
        case = self._open_case(text, result, user, channel, idempotency_key, requested=True, shown=reasons)
        return self._screening(result, reasons, user, case.ref, started)

    def _screening(
        self, result: TriageResult, reasons: list[ScreenReason], user: User, case_ref: str | None, started: float
    ) -> Screening:
        return Screening(
            level=result.level,
            reasons=reasons,
            # A partner gets the level, partner wording and partner steps only (RAS 7.1): no signals,
            # taxonomy codes, list names, scores or policy examples to re-word a deal against.
            signals={} if user.is_partner else result.signals,
            next_steps=self._next_steps(result, user),
            case_ref=case_ref,
            describes_deal=result.describes_deal,
            missing_facts=self._missing_facts(result, user),
            elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    # -- cases, feedback, keys (what the doors may do, checked here once) --------------------------------

    def cases_for(self, user: User, *, status: str | None = None, level: str | None = None) -> list[Case]:
        """Every case the user may see, in queue order (undecided by SLA first): compliance and admins all,
        everyone else their own organisation's."""
        cases: list[Case] = []
        cursor: str | None = None
        while True:
            page, cursor = self._case_page(user, status=status, level=level, limit=200, cursor=cursor)
            cases.extend(page)
            if cursor is None:
                return cases

    def case_page(
        self,
        user: User,
        *,
        status: str | None = None,
        level: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        now: dt.datetime | None = None,
    ) -> tuple[list[CaseListItem], str | None]:
        """One page of the queue as the user may see it (each case filtered for them, with its deadline),
        and the cursor of the next page (None at the end)."""
        from .cases.views import list_item

        cases, next_cursor = self._case_page(user, status=status, level=level, limit=limit, cursor=cursor)
        now = now or dt.datetime.now(dt.UTC)
        return [list_item(case, user, now) for case in cases], next_cursor

    def _case_page(
        self, user: User, *, status: str | None = None, level: str | None = None, limit: int, cursor: str | None
    ) -> tuple[list[Case], str | None]:
        org = None if user.is_decider else user.org
        return self.cases.page(status=status, level=level, org=org, limit=limit, cursor=cursor)

    def case_for(self, ref: str, user: User) -> tuple[Case, list[Any]]:
        """One case and its audit trail, if the user may see it (else NotFound, as if it did not exist)."""
        from .cases import CaseNotFound

        org = None if user.is_decider else user.org
        try:
            return self.cases.get(ref, org=org), self.cases.events(ref, org=org)
        except CaseNotFound as exc:
            raise NotFound(str(exc)) from exc

    def case_view(self, ref: str, user: User, now: dt.datetime | None = None) -> CaseView:
        """One case as this user may see it (else NotFound): filtered reasons and trail, the names actors
        are shown under, and whether the user may decide it now."""
        from .cases.views import CaseView, actor_names, sla_text, visible_case, visible_events

        case, events = self.case_for(ref, user)
        now = now or dt.datetime.now(dt.UTC)
        decider = user.is_decider
        return CaseView(
            case=visible_case(case, user),
            events=visible_events(events, case, user),
            actors=actor_names(self._key_names(), user, staff=decider),
            may_decide=decider and case.status in UNDECIDED and case.requester.user_id != user.id,
            sla=sla_text(case, now),
            overdue=case.is_overdue(now),
        )

    def queue(self, user: User) -> list[Case]:
        """The undecided cases the user may see, in the one queue order: the soonest SLA due date first
        (no deadline last), then the oldest. Every door shows this order. Each case is as the user may see it."""
        from .cases.views import visible_case

        waiting: list[Case] = []
        cursor: str | None = None
        while True:
            page, cursor = self._case_page(user, limit=200, cursor=cursor)
            for case in page:  # the store puts every undecided case before the decided ones
                if case.status not in UNDECIDED:
                    return waiting
                waiting.append(visible_case(case, user))
            if cursor is None:
                return waiting

    def my_cases(self, user: User) -> list[Case]:
        """The cases this user asked for, newest first, as they may see them (a partner sees no assignee,
        signals or internal reasons)."""
        from .cases.views import visible_case

        mine = [c for c in self.cases_for(user) if c.requester.user_id == user.id]
        return [visible_case(c, user) for c in sorted(mine, key=lambda c: c.created_at, reverse=True)]

    def decide_case(
        self, ref: str, decision: str, user: User, comment: str, *, corrected_level: str | None = None
    ) -> Case:
        """Record a compliance decision; only compliance (or an admin) may decide, and the actor is recorded.

        `corrected_level` says compliance judges the deal at another level than triage gave it.
        """
        from .cases.workflow import normalise_decision

        self._require_decider(user, "decide cases")
        case, events = self.case_for(ref, user)
        if user.id == case.requester.user_id:
            raise PermissionDenied(f"{case.ref} was requested by you; another reviewer must decide it")
        action = normalise_decision(decision)
        if action == "approve" and case.level == "prohibited":
            # Four eyes: a prohibited deal is approved only by two different reviewers.
            first = _pending_first_approval(events)
            if first is None:
                return self.cases.first_approval(ref, actor=user.id, comment=comment)
            if first == user.id:
                raise PermissionDenied(f"{case.ref} is prohibited: a second, different reviewer must approve it")
        return self.cases.decide(ref, action, actor=user.id, comment=comment, corrected_level=corrected_level)

    def assign_case(self, ref: str, user: User, assignee: str | None = None, comment: str | None = None) -> Case:
        """Assign a case (to the user by default); compliance only."""
        self._require_decider(user, "assign cases")
        return self.cases.assign(ref, actor=user.id, assignee=assignee or user.id, comment=comment)

    def close_case(self, ref: str, user: User, comment: str | None = None) -> Case:
        """Close a case (a comment is needed when it was never decided); compliance only."""
        self._require_decider(user, "close cases")
        return self.cases.close(ref, actor=user.id, comment=comment)

    def reopen_case(self, ref: str, user: User, comment: str) -> Case:
        """Send a decided or closed case back to review, with the reason; compliance only."""
        self._require_decider(user, "reopen cases")
        return self.cases.reopen(ref, actor=user.id, comment=comment)

    def list_cases(
        self, user: User, *, status: str | None = None, level: str | None = None, org: str | None = None, limit: int
    ) -> list[Case]:
        """Cases oldest first, as an operator lists them; `org` narrows a decider's view, and everyone else
        sees their own organisation's only."""
        scope = org if user.is_decider else user.org
        return self.cases.list(status=status, org=scope, level=level, limit=limit)

    def export_cases(self, user: User, fmt: str, *, status: str | None = None, org: str | None = None) -> str:
        """Cases with their audit trails as CSV or JSON; compliance only."""
        self._require_decider(user, "export cases")
        return self.cases.export(fmt, status=status, org=org)

    def verify_trail(self, user: User, checkpoint: Mapping[str, Any] | None = None) -> VerifyReport:
        """Check every audit chain, case row and MAC (and a checkpoint, when given); compliance only."""
        self._require_decider(user, "verify the audit trail")
        return self.cases.verify(checkpoint)

    def checkpoint_trail(self, user: User) -> tuple[VerifyReport, dict[str, Any]]:
        """A signed digest of every case's head, after checking the trail; compliance only."""
        self._require_decider(user, "checkpoint the audit trail")
        return self.cases.checkpoint()

    @staticmethod
    def _require_decider(user: User, what: str) -> None:
        if not user.is_decider:
            raise PermissionDenied(f"only compliance may {what}")

    @property
    def feedback(self) -> FeedbackLog:
        from .records.feedback import FeedbackLog

        return FeedbackLog(self.cases.engine)

    @property
    def screenings(self) -> ScreeningLog:
        """The trace of escalate and prohibited screenings that opened no case."""
        from .cases.screenings import ScreeningLog

        return ScreeningLog(self.cases.engine)

    @property
    def processed_events(self) -> EventLog:
        from .records.events import EventLog

        return EventLog(self.cases.engine)

    @property
    def api_keys(self) -> ApiKeys:
        from .records.api_keys import ApiKeys

        return ApiKeys(self.cases.engine)

    def authenticate_key(self, presented: str) -> tuple[User, ApiKey] | None:
        """The user an API key acts as, and its record, or None for an unknown or revoked key."""
        key = self.api_keys.authenticate(presented)
        return (key.user(), key) if key is not None else None

    def active_key(self, key_id: str) -> tuple[User, ApiKey] | None:
        """A key by id (for a browser session that names it) if it exists and is not revoked."""
        key = self.api_keys.get(key_id)
        return (key.user(), key) if key is not None and key.active else None

    def end_sessions(self, key_id: str) -> None:
        """End every browser session started with this key."""
        self.api_keys.end_sessions(key_id)

    def _key_names(self) -> dict[str, str]:
        """`key:<id>` → the key's name and organisation, to show people rather than ids in audit trails."""
        return {k.user().id: f"{k.name} ({k.org})" for k in self.api_keys.list()}

    def create_key(self, user: User, org: str, role: str, name: str = "") -> tuple[ApiKey, str]:
        """A new API key for an organisation and role, and its secret (shown once, stored hashed); admins only."""
        self._require_admin(user, "create API keys")
        return self.api_keys.create(org, role, name)

    def revoke_key(self, user: User, key_id: str) -> ApiKey:
        """Revoke a key: its calls and browser sessions stop at once; admins only."""
        self._require_admin(user, "revoke API keys")
        return self.api_keys.revoke(key_id)

    def list_keys(self, user: User) -> list[ApiKey]:
        """Every key's public record (never a secret); admins only."""
        self._require_admin(user, "list API keys")
        return self.api_keys.list()

    @staticmethod
    def _require_admin(user: User, what: str) -> None:
        if user.role != Role.ADMIN:
            raise PermissionDenied(f"only an admin may {what}")

    def first_time(self, marker: str) -> bool:
        """True the first time any process records `marker` (a Slack event id, a posted case card)."""
        return self.processed_events.first_time(marker)

    def health(self) -> dict[str, Any]:
        """Liveness and how many passages are indexed."""
        return {"status": "ok", "indexed_chunks": self.store.count()}

    def record_feedback(
        self,
        user: User,
        *,
        answer_id: str,
        question: str,
        helpful: bool,
        reason: str | None = None,
        channel: str = "cli",
    ) -> int:
        """Store a helpful / not helpful verdict on an answer."""
        return self.feedback.add(
            user_id=user.id,
            org=user.org,
            channel=channel,
            answer_id=answer_id,
            question=question,
            helpful=helpful,
            reason=reason,
        )

    def _next_steps(self, result: TriageResult, user: User) -> list[str]:
        """The policy's steps for the level: its partner steps for a partner."""
        if user.is_partner:
            return list(result.partner_next_steps)
        return list(result.next_steps)

    def _missing_facts(self, result: TriageResult, user: User) -> list[dict[str, str]]:
        """What the deal does not say and the question that settles it; a partner gets the question only."""
        if not user.is_partner:
            return [m.to_dict() for m in result.missing]
        wording = self.triage.policy.partner_wording
        return [
            {"fact": m.fact, "question": wording.get(f"unknown-{m.fact.replace('_', '-')}", "")} for m in result.missing
        ]

    def _case_reasons(self, result: TriageResult, shown: list[ScreenReason] | None = None) -> list[dict[str, Any]]:
        """Reasons as a case keeps them: staff text, evidence and every citation, plus the partner wording
        (views filter by who reads the case). `shown`: the reasons already built for a staff requester,
        which are exactly these (staff read every audience), so their citations are not looked up twice."""
        staff = shown if shown is not None else self._reasons(result, _CASE_READER)
        return [
            {**shown.model_dump(), "partner_text": reason.partner_text}
            for shown, reason in zip(staff, result.reasons, strict=True)
        ]

    def _reasons(self, result: TriageResult, user: User) -> list[ScreenReason]:
        locators = self._locators
        out: list[ScreenReason] = []
        if user.is_partner:
            seen: set[str] = set()
            for reason in result.reasons:
                text = reason.partner_text
                if not text or text in seen:
                    continue
                seen.add(text)
                out.append(ScreenReason(text=text, rule="", citations=locators.cite(list(reason.cite), user.audiences)))
            return out
        for reason in result.reasons:
            # A partner never sees an internal clause, even as the basis of a decision about its own deal.
            citations = locators.cite(list(reason.cite), user.audiences)
            out.append(
                ScreenReason(text=reason.text, rule=reason.rule, citations=citations, evidence=list(reason.evidence))
            )
        return out

    def _open_case(
        self,
        text: str,
        result: TriageResult,
        user: User,
        channel: str,
        idempotency_key: str | None,
        prompt_version: str | None = None,
        requested: bool = False,
        shown: list[ScreenReason] | None = None,
    ) -> Case:
        from .cases import Requester

        # A caller's key is scoped to its organisation, so nobody can fetch another organisation's case by
        # replaying its key; without one, a case is keyed on the deal itself (requester and normalised text).
        key = f"{user.org}:{idempotency_key}" if idempotency_key else default_idempotency_key(channel, user, text)
        if user.is_partner:
            self._check_case_budget(user)
        summary = " ".join(text.split())
        facts: dict[str, Any] = {"text": text, "signals": result.signals, "escalated_by_requester": requested}
        if prompt_version:  # the prompt set the LLM was given for the answer that opened the case
            facts["prompt_version"] = prompt_version
        return self.cases.create(
            level=result.level,
            summary=summary[:280],
            requester=Requester(user_id=user.id, channel=channel, org=user.org),
            facts=facts,
            reasons=self._case_reasons(result, None if user.is_partner else shown),
            org=user.org,
            idempotency_key=key,
            request_fingerprint=request_fingerprint(user, text),
        )

    def _check_case_budget(self, user: User) -> None:
        """Refuse a partner organisation's case beyond its budget for the hour (OverBudget, HTTP 429)."""
        budget = self.settings.partner_cases_per_hour
        since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        if self.cases.count_since(user.org, since) >= budget:
            raise OverBudget(
                f"your organisation has opened {budget} cases in the last hour; try again later", retry_after=600
            )

    def _record_screening(self, text: str, result: TriageResult, user: User, channel: str) -> None:
        """Leave a trace of an escalate or prohibited screening that opened no case (a staff opt-out).

        Evaluations and benchmarks replay labelled examples; they are not screenings and leave none.
        """
        if channel in REPLAY_CHANNELS:
            return
        self.screenings.record(
            user_id=user.id,
            org=user.org,
            channel=channel,
            level=result.level,
            rule=result.rule,
            fingerprint=request_fingerprint(user, text),
            summary=" ".join(text.split())[:280],
        )


REPLAY_CHANNELS = ("eval", "bench")
"""Channels that replay labelled examples (evaluations, benchmarks), never real deals."""
_OPERATOR_CHANNELS = ("cli", *REPLAY_CHANNELS)
"""Channels only someone at the machine can use: there, a partner-audience request may skip the case."""


# Reads a case's reasons as staff do: every audience, every citation (views filter per reader later).
_CASE_READER = User(id="case", role=Role.COMPLIANCE, org=STAFF_ORG)


def _may_skip_case(user: User, channel: str) -> bool:
    """Whether a risky deal may go without a case: staff may opt out, a partner only at the operator's CLI."""
    return not user.is_partner or channel in _OPERATOR_CHANNELS


def _pending_first_approval(events: Sequence[Any]) -> str | None:
    """Who gave the first approval still standing (none after a later reopen, rejection or request)."""
    first: str | None = None
    for event in events:
        if event.action == "first_approval":
            first = event.actor
        elif event.action in ("reopen", "reject", "needs_info", "approve"):
            first = None
    return first


def default_idempotency_key(channel: str, user: User, text: str) -> str:
    """Same requester, same deal text, same day: a retry, not a new case."""
    digest = hashlib.sha256(" ".join(text.lower().split()).encode()).hexdigest()[:24]
    return f"{channel}:{user.org}:{user.id}:{dt.date.today().isoformat()}:{digest}"


def request_fingerprint(user: User, text: str) -> str:
    """What an idempotency key stands for: this requester and this deal (case and spacing aside)."""
    normalised = " ".join(text.lower().split())
    return hashlib.sha256(f"{user.org}\x1f{user.id}\x1f{normalised}".encode()).hexdigest()


def validate_deal(deal: object) -> str:
    """The deal text stripped, or QuestionError when empty or over-long."""
    if not isinstance(deal, str):
        raise QuestionError("the deal description must be text")
    text = deal.strip()
    if not text:
        raise QuestionError("the deal description is empty")
    if len(text) > MAX_DEAL_CHARS:
        raise QuestionError(f"the deal description is {len(text)} characters long; the limit is {MAX_DEAL_CHARS}")
    return text


def _deal_answer(reasons: list[ScreenReason], next_steps: list[str]) -> Composed:
    """An answer made of the triage itself: each reason with its citations, then the next steps."""
    citations: list[Citation] = []
    number_of: dict[str, int] = {}
    lines = ["Why:"]
    for reason in reasons:
        marks = []
        for citation in reason.citations:
            if citation.chunk_id not in number_of:
                number_of[citation.chunk_id] = len(citations) + 1
                citations.append(citation.model_copy(update={"n": number_of[citation.chunk_id]}))
            marks.append(f"[{number_of[citation.chunk_id]}]")
        lines.append(f"- {reason.text} {' '.join(marks)}".rstrip())
    text = "\n".join(lines)
    if next_steps:
        text += "\n\nNext steps:\n" + "\n".join(f"{i}. {step}" for i, step in enumerate(next_steps, 1))
    return Composed(text=text, citations=citations, next_steps=next_steps)


def _risk_banner(level: str, reasons: list[ScreenReason], case_ref: str | None) -> str:
    lead = f"Risk: {LEVEL_LABELS.get(level, level)}."
    why = f" {reasons[0].text}" if reasons else ""
    if level == "prohibited":
        tail = " Do not proceed with this deal."
    else:
        tail = " Do not quote, ship or commit until compliance decides."
    case = f" Compliance case {case_ref} is open." if case_ref else ""
    return lead + why + tail + case


def create_service(settings: Settings | None = None, embedder: Embedder | None = None) -> AssistantService:
    """Build the service from settings (read from the environment when not given)."""
    return AssistantService(settings or Settings(), embedder=embedder)
