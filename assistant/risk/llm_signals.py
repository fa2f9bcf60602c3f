"""Optional second reading of a deal by an LLM: the same signals, as structured output, never the level.

When ASSISTANT_LLM is configured, the service gives the triage engine an `LLMSignalReader`. The model
is asked for the product tier, end-user type, country and red flags, each with the exact words of the
deal that show it. Only signals whose words really occur in the deal are kept, so a model that invents
or is talked into a fact by the deal text cannot add it. The engine then assesses the deal twice, on
its own signals and on its signals raised by the LLM's, and keeps the higher level: the LLM can only
make triage stricter. Any failure (timeout, error, unparseable answer) leaves the deterministic result.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .policy import END_USER_TYPES, PRODUCT_TIERS, RiskPolicy

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)
_JSON_OBJECT = re.compile(r"\{.*\}", re.S)
_MAX_WORDS = 40


@dataclass
class LLMReading:
    """What the model reported, keeping only facts whose quoted words occur in the deal."""

    product: tuple[str, str] | None = None
    """(tier, words)"""
    end_user: tuple[str, str] | None = None
    """(type, words)"""
    country: tuple[str, str] | None = None
    """(country name, words)"""
    red_flags: list[tuple[str, str]] = field(default_factory=list)
    """(flag id, words)"""
    status: str = "ok"
    """'ok', or why the reading was not used ('error: ...', 'unparseable', 'timeout')."""
    dropped: int = 0
    """Facts dropped because their words are not in the deal."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "product": list(self.product) if self.product else None,
            "end_user": list(self.end_user) if self.end_user else None,
            "country": list(self.country) if self.country else None,
            "red_flags": [list(f) for f in self.red_flags],
            "dropped_unquoted": self.dropped,
        }


def _squash(text: str) -> str:
    return " ".join(text.lower().split())


class LLMSignalReader:
    """Asks a LangChain chat model for a deal's signals under one policy."""

    def __init__(self, model: BaseChatModel, prompt: str, prompt_version: str, policy: RiskPolicy) -> None:
        self.model = model
        self.prompt = prompt
        self.prompt_version = prompt_version
        self.flag_ids = [f.id for f in policy.red_flags]
        self.filled = (
            prompt.replace("{{tiers}}", ", ".join(f'"{t}" ({policy.product(t).label})' for t in PRODUCT_TIERS))
            .replace("{{end_user_types}}", ", ".join(f'"{e}" ({policy.end_user(e).label})' for e in END_USER_TYPES))
            .replace("{{red_flags}}", ", ".join(f'"{f.id}" ({f.label})' for f in policy.red_flags))
        )

    def read(self, deal: str) -> LLMReading:
        """The model's reading of `deal`; a failed call gives an empty reading with its status."""
        text = deal.replace("</deal>", "&lt;/deal>")
        try:
            reply = self.model.invoke(self.filled.replace("{{deal}}", text))
        except Exception as exc:  # any provider error: the deterministic triage stands
            log.warning("llm signal reading failed", extra={"error": type(exc).__name__})
            return LLMReading(status=f"error: {type(exc).__name__}")
        content = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
        return self.parse(content, deal)

    def parse(self, content: str, deal: str) -> LLMReading:
        """Parse the model's JSON answer, keeping only facts quoted from `deal`."""
        match = _JSON_OBJECT.search(content or "")
        try:
            data = json.loads(match.group(0)) if match else None
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return LLMReading(status="unparseable")
        haystack = _squash(deal)
        reading = LLMReading()

        def quoted(entry: Any, key: str, allowed: tuple[str, ...] | None) -> tuple[str, str] | None:
            if not isinstance(entry, dict):
                return None
            value, words = str(entry.get(key, "")).strip(), str(entry.get("words", "")).strip()
            if not value or value.lower() == "unknown" or (allowed is not None and value not in allowed):
                return None
            if not words or len(words.split()) > _MAX_WORDS or _squash(words) not in haystack:
                reading.dropped += 1
                return None
            return value, words

        reading.product = quoted(data.get("product"), "tier", PRODUCT_TIERS)
        reading.end_user = quoted(data.get("end_user"), "type", END_USER_TYPES)
        reading.country = quoted(data.get("country"), "name", None)
        flags = data.get("red_flags")
        for entry in flags if isinstance(flags, list) else []:
            found = quoted(entry, "id", tuple(self.flag_ids))
            if found and found[0] not in {f for f, _ in reading.red_flags}:
                reading.red_flags.append(found)
        return reading
