"""Restricted-party screening against a yente server (OpenSanctions' matching API), over HTTP.

A yente that refuses, fails or does not answer in time raises ScreeningUnavailable: an unscreened deal must
never look like a clean one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

from ..errors import ConfigError, ScreeningUnavailable
from .names import can_stand_alone, extract_name_spans, normalize_name, similarity
from .screening import (
    DEFAULT_THRESHOLD,
    YENTE_MAX_BATCH,
    Candidate,
    PartyHit,
    best_per_party,
    check_threshold,
    explain_match,
)

logger = logging.getLogger(__name__)


class YenteScreener:
    """Screens against an OpenSanctions yente server (POST /match/{dataset})."""

    def __init__(
        self,
        base_url: str,
        dataset: str = "default",
        *,
        timeout_s: float = 10.0,
        threshold: float = DEFAULT_THRESHOLD,
        schema: str = "LegalEntity",
    ) -> None:
        """Configure the client; nothing is sent until something is screened."""
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"yente URL must start with http:// or https://, got {base_url!r}")
        if timeout_s <= 0:
            raise ConfigError(f"yente timeout must be positive, got {timeout_s!r}")
        self._base_url = base_url.rstrip("/")
        self._dataset = dataset
        self._timeout_s = float(timeout_s)
        self._threshold = check_threshold(threshold)
        self._schema = schema

    @property
    def threshold(self) -> float:
        """Lowest score that counts as a hit."""
        return self._threshold

    def describe(self) -> str:
        """Name the server, dataset and threshold."""
        return (
            f"OpenSanctions yente at {self._base_url}, dataset {self._dataset} "
            f"(threshold {self._threshold:g}, timeout {self._timeout_s:g} s)"
        )

    def screen_names(self, names: Sequence[str], *, countries: Sequence[str] = ()) -> list[PartyHit]:
        """Send each name that can stand alone as one query; generic or lone short words are not sent."""
        if isinstance(names, str):
            raise TypeError("screen_names takes a sequence of names, not one string")
        candidates = []
        for raw in dict.fromkeys(n.strip() for n in names):
            name = normalize_name(raw)
            if can_stand_alone(name):
                candidates.append(Candidate(raw, name))
        return self._match(candidates, countries)

    def screen_text(self, text: str, *, countries: Sequence[str] = ()) -> list[PartyHit]:
        """Extract candidate name spans locally and send them as queries."""
        return self._match([Candidate(span.text, span.name) for span in extract_name_spans(text)], countries)

    def lists_in_force(self) -> list[dict[str, Any]]:
        """The yente dataset screened against (its versions are yente's to report)."""
        return [{"list": self._dataset, "version": "", "loaded_at": "", "source": self._base_url}]

    def _match(self, candidates: Sequence[Candidate], countries: Sequence[str] = ()) -> list[PartyHit]:
        found = []
        for offset in range(0, len(candidates), YENTE_MAX_BATCH):
            batch = candidates[offset : offset + YENTE_MAX_BATCH]
            # yente weighs the country itself when it is given.
            properties: dict[str, list[str]] = {"country": [c.lower() for c in countries]} if countries else {}
            queries = {
                f"q{i}": {"schema": self._schema, "properties": {"name": [candidate.text], **properties}}
                for i, candidate in enumerate(batch)
            }
            responses = self._post({"queries": queries})
            for i, candidate in enumerate(batch):
                response = responses.get(f"q{i}")
                if not isinstance(response, dict) or not isinstance(response.get("results"), list):
                    raise self._unavailable(f"its answer has no results for query q{i}")
                for result in response["results"]:
                    hit = self._to_hit(candidate, result)
                    if hit is not None:
                        found.append(((float(hit.score), 0, 0, False, False, False), hit))
        return best_per_party(found)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self._base_url}/match/{quote(self._dataset, safe='')}"
        logger.debug(
            "yente match request",
            extra={"event": "yente_match", "dataset": self._dataset, "queries": len(body["queries"])},
        )
        try:
            with httpx.Client(timeout=self._timeout_s) as client:
                response = client.post(url, json=body, params={"threshold": self._threshold / 100})
        except httpx.TimeoutException as exc:
            raise self._unavailable(f"it did not answer within {self._timeout_s:g} s") from exc
        except httpx.HTTPError as exc:
            raise self._unavailable(f"it cannot be reached ({type(exc).__name__}: {exc})") from exc
        if response.status_code != 200:
            detail = response.text.strip().replace("\n", " ")[:200]
            raise self._unavailable(f"it answered HTTP {response.status_code} ({detail})")
        try:
            data = response.json()
        except ValueError as exc:
            raise self._unavailable("its answer is not JSON") from exc
        if not isinstance(data, dict) or not isinstance(data.get("responses"), dict):
            raise self._unavailable("its answer has no 'responses' object")
        responses: dict[str, Any] = data["responses"]
        return responses

    def _unavailable(self, problem: str) -> ScreeningUnavailable:
        return ScreeningUnavailable(
            f"restricted-party screening via yente at {self._base_url} (dataset {self._dataset}) failed: "
            f"{problem}; the names were not screened"
        )

    def _to_hit(self, candidate: Candidate, result: Any) -> PartyHit | None:
        try:
            entity_id, caption, raw_score = str(result["id"]), str(result["caption"]), float(result["score"])
        except (KeyError, TypeError, ValueError) as exc:
            raise self._unavailable(f"a result lacks a valid id, caption or score ({exc})") from exc
        score = raw_score * 100
        if score < self._threshold:
            return None
        properties = result.get("properties") or {}
        labels = [caption] + [
            value
            for prop in ("name", "alias", "weakAlias", "previousName")
            for value in properties.get(prop, [])
            if isinstance(value, str)
        ]
        ranked = [(similarity(candidate.name, normalize_name(label)), label) for label in dict.fromkeys(labels)]
        local_score, label = max(ranked, key=lambda pair: pair[0])
        if len(candidate.name.tokens) == 1 and local_score < self._threshold:
            return None  # a lone word must equal a whole name of the entity, as with the local list
        datasets = [str(d) for d in result.get("datasets") or []]
        list_name = ", ".join(datasets) or self._dataset
        target = caption if label == caption else f"alias '{label}' of {caption}"
        target += f" ({list_name}) according to yente"
        return PartyHit(
            party=caption,
            matched_alias=label,
            list_name=list_name,
            source=f"{self._base_url}/entities/{entity_id}",
            listed_on=_listing_date(result, properties),
            score=round(score),
            explanation=explain_match(candidate.name, target, label, normalize_name(label), score),
            candidate=candidate.text,
            party_id=entity_id,
        )


def _listing_date(result: dict[str, Any], properties: dict[str, Any]) -> str:
    for prop in ("listingDate", "createdAt", "startDate"):
        values = [v for v in properties.get(prop, []) if isinstance(v, str)]
        if values:
            return min(values)[:10]
    first_seen = result.get("first_seen")
    return first_seen[:10] if isinstance(first_seen, str) else ""
