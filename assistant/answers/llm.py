"""Optional LLM-written answers through any LangChain chat model, with verified citations.

The LLM gets the question and the retrieved passages as numbered, delimited data, and writes a short answer
citing them by [n]. The verifier (verify.py) keeps only sentences whose citations are valid and supported.
When the model errors, times out, answers nothing or fails verification, the user gets the extractive
answer instead, and `fallback_reason` says why. The LLM never sees or sets the risk level: triage runs
before and apart from it, in the service.

While streaming, `on_partial` receives the verified answer so far (complete sentences only), so text that
would be removed is never shown, not even for a moment.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..errors import ConfigError
from ..knowledge.embeddings import Embedder
from ..knowledge.retrieval import Passage, Retrieval
from .extractive import Composed, ExtractiveComposer
from .prompts import PromptSet, load_prompts
from .verify import CitationVerifier, SupportScorer, Verified

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)
MAX_PASSAGES = 5
_TRAILING_MARKER = re.compile(r"\s*\[(\d+)\]\s*$")


@dataclass(frozen=True)
class Generated:
    """A composed answer and how it was made: generator "llm" or "extractive", and why it fell back."""

    composed: Composed
    generator: str
    fallback_reason: str | None
    prompt_version: str | None


class LLMTimeout(Exception):
    """The model did not finish within the configured time."""


def build_chat_model(settings: Settings, prompt_version: str) -> BaseChatModel:
    """The chat model named by ASSISTANT_LLM ("provider:model"), via langchain's init_chat_model.

    Raises ConfigError when the setting is malformed or the provider's package is not installed.
    """
    spec = settings.llm.strip()
    provider, _, model = spec.partition(":")
    if not provider or not model:
        raise ConfigError(f"ASSISTANT_LLM: {spec!r} is not 'provider:model' (e.g. openai:gpt-4o-mini)")
    kwargs: dict[str, Any] = {"timeout": settings.llm_timeout_s, "max_retries": 0}
    if settings.llm_base_url:
        kwargs["base_url"] = settings.llm_base_url
    if settings.llm_api_key:
        kwargs["api_key"] = settings.llm_api_key.get_secret_value()
    if provider == "openai":
        # Gateways and self-hosted servers can log which prompt produced a completion.
        kwargs["default_headers"] = {"X-Assistant-Prompt-Version": prompt_version}
        if settings.llm_base_url and "api_key" not in kwargs:
            kwargs["api_key"] = "unused"  # local OpenAI-compatible servers often need none; the client needs one
    try:
        from langchain.chat_models import init_chat_model

        return init_chat_model(spec, **kwargs)
    except ImportError as exc:
        raise ConfigError(f"ASSISTANT_LLM: the package for provider {provider!r} is not installed ({exc})") from exc
    except ValueError as exc:
        raise ConfigError(f"ASSISTANT_LLM: {spec!r}: {exc}") from exc


def _is_timeout(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, TimeoutError) or "timeout" in type(seen).__name__.lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class LLMComposer:
    """Composes answers with a chat model, verifies them, and falls back to the extractive composer."""

    def __init__(
        self,
        model: BaseChatModel,
        prompts: PromptSet,
        scorer: SupportScorer,
        fallback: ExtractiveComposer,
        *,
        timeout_s: float,
        max_passages: int = MAX_PASSAGES,
    ) -> None:
        self.model = model
        self.prompts = prompts
        self.scorer = scorer
        self.fallback = fallback
        self.timeout_s = timeout_s
        self.max_passages = max_passages

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        embedder: Embedder,
        fallback: ExtractiveComposer,
        prompts_dir: Path | None = None,
    ) -> LLMComposer:
        """Load the prompts and build the chat model from settings (ConfigError when either is invalid)."""
        prompts = load_prompts(prompts_dir)
        model = build_chat_model(settings, prompts.version)
        return cls(model, prompts, SupportScorer(embedder), fallback, timeout_s=settings.llm_timeout_s)

    @property
    def prompt_version(self) -> str:
        return self.prompts.version

    def messages(self, question: str, passages: Sequence[Passage]) -> list[BaseMessage]:
        """The system prompt and the user message with the question and the delimited passages."""
        from langchain_core.messages import HumanMessage, SystemMessage

        return [SystemMessage(self.prompts.system), HumanMessage(self.prompts.render_answer(question, passages))]

    def compose(
        self, question: str, retrieval: Retrieval, on_partial: Callable[[str], None] | None = None
    ) -> Generated:
        """An LLM answer with verified citations, or the extractive answer and the reason for falling back.

        Weak evidence is refused exactly as without an LLM, and the model is not called.
        """
        extractive = self.fallback.compose(retrieval, question)
        if extractive.refused:
            return Generated(extractive, "extractive", None, None)
        passages = self._passages(retrieval, extractive)
        verifier = CitationVerifier(self.scorer, passages)
        started = time.perf_counter()
        try:
            raw = self._generate(self.messages(question, passages), verifier, on_partial)
        except Exception as exc:  # any provider failure: the user still gets the extractive answer
            reason = "llm_timeout" if _is_timeout(exc) else "llm_error"
            log.warning("llm answer failed; extractive fallback", extra={"reason": reason, "error": type(exc).__name__})
            return Generated(extractive, "extractive", reason, self.prompts.version)
        if not raw.strip():
            return Generated(extractive, "extractive", "llm_empty_answer", self.prompts.version)
        verified = verifier.verify(raw, final=True)
        log.info(
            "llm answer verified",
            extra={
                "ok": verified.ok,
                "verdict": verified.reason,
                "sentences": len(verified.checks),
                "dropped": [c.reason for c in verified.dropped],
                "llm_ms": round((time.perf_counter() - started) * 1000, 1),
                "prompt_version": self.prompts.version,
            },
        )
        if not verified.ok:
            return Generated(extractive, "extractive", "verification_failed", self.prompts.version)
        if on_partial is not None:
            self._emit(on_partial, verified.text)
        return Generated(_with_steps(verified, extractive), "llm", None, self.prompts.version)

    def _passages(self, retrieval: Retrieval, extractive: Composed) -> list[Passage]:
        chosen = list(retrieval.passages[: self.max_passages])
        ids = {p.id for p in chosen}
        for citation in extractive.citations:  # the extractive answer's sources are always among them
            if citation.chunk_id not in ids:
                chosen.extend(p for p in retrieval.passages if p.id == citation.chunk_id)
                ids.add(citation.chunk_id)
        return chosen

    def _generate(
        self,
        messages: list[BaseMessage],
        verifier: CitationVerifier,
        on_partial: Callable[[str], None] | None,
    ) -> str:
        """The raw model answer, read from a worker thread so that one deadline holds for any provider."""
        pieces: queue.Queue[tuple[str, Any]] = queue.Queue()
        streaming = on_partial is not None

        def work() -> None:
            try:
                if streaming:
                    for chunk in self.model.stream(messages):
                        pieces.put(("text", chunk.text))  # LangChain joins the text blocks
                else:
                    pieces.put(("text", self.model.invoke(messages).text))
                pieces.put(("end", None))
            except BaseException as exc:  # handed to the caller's thread, which decides
                pieces.put(("error", exc))

        threading.Thread(target=work, name="llm-answer", daemon=True).start()
        deadline = time.monotonic() + self.timeout_s
        raw, shown = "", ""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LLMTimeout(f"no complete answer within {self.timeout_s} s")
            try:
                kind, value = pieces.get(timeout=remaining)
            except queue.Empty as exc:
                raise LLMTimeout(f"no complete answer within {self.timeout_s} s") from exc
            if kind == "error":
                raise value
            if kind == "end":
                return raw
            raw += value
            if on_partial is not None:
                grown = verifier.verify(raw, final=False).text
                if grown and grown != shown:
                    shown = grown
                    self._emit(on_partial, grown)

    @staticmethod
    def _emit(on_partial: Callable[[str], None], text: str) -> None:
        try:
            on_partial(text)
        except Exception:  # a door that cannot update its message must not cost the user the answer
            log.warning("on_partial callback failed", exc_info=True)


def with_prefix(on_partial: Callable[[str], None], prefix: str) -> Callable[[str], None]:
    """A partial-text callback that puts `prefix` (e.g. the risk banner) before every partial answer."""

    def emit(grown: str) -> None:
        on_partial(prefix + grown)

    return emit


def _with_steps(verified: Verified, extractive: Composed) -> Composed:
    """The verified answer plus the guidance's own next steps, their markers renumbered to match."""
    citations = list(verified.citations)
    number_of = {c.chunk_id: c.n for c in citations}
    steps: list[str] = []
    steps_already_cited = False
    for step in extractive.next_steps:
        marker = _TRAILING_MARKER.search(step)
        if marker is None or not 1 <= int(marker.group(1)) <= len(extractive.citations):
            continue
        source = extractive.citations[int(marker.group(1)) - 1]
        if source.chunk_id in number_of:
            steps_already_cited = True
        else:
            number_of[source.chunk_id] = len(citations) + 1
            citations.append(source.model_copy(update={"n": number_of[source.chunk_id]}))
        steps.append(f"{step[: marker.start()]} [{number_of[source.chunk_id]}]")
    text = verified.text
    if steps and not steps_already_cited:  # when the answer cites the steps' passage it has usually used them
        text += "\n\nNext steps:\n" + "\n".join(f"{i}. {step}" for i, step in enumerate(steps, 1))
    return Composed(text=text, citations=citations, next_steps=steps)
