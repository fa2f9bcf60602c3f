"""A stand-in for an OpenSanctions yente server: a real HTTP server on 127.0.0.1, for tests.

It answers POST /match/<dataset> from a small in-memory list of entities, in yente's response shape,
records every request (and its answer), and can be told to answer with another status or body, or to
hang until the client gives up. Its scoring is deliberately lenient (rapidfuzz WRatio on lower-cased,
accent-free names) so tests can check what the client does with generous scores.

    with YenteStandIn([StandInEntity("NK-1", "Velmoray Vision Ltd", ["Velmoray Vision Ltd"])]) as yente:
        screener = YenteScreener(yente.url)
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from rapidfuzz import fuzz

from .loopback import LoopbackServer

_HANG_LIMIT_S = 30.0


@dataclass(frozen=True)
class StandInEntity:
    """One entity the stand-in knows: its names (first is the main name), lists and extra properties."""

    id: str
    caption: str
    names: list[str]
    datasets: list[str] = field(default_factory=lambda: ["sample"])
    schema: str = "Company"
    properties: dict[str, list[str]] = field(default_factory=dict)
    first_seen: str = "2024-01-01T00:00:00"


@dataclass(frozen=True)
class RecordedRequest:
    """One request the stand-in received, with the status and body it answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int
    answer: Any


# yente drops organisation types before comparing names; the stand-in imitates that with a short list.
_ORG_TYPES = re.compile(r"\b(ltd|llc|gmbh|inc|jsc|fze|sa|plc)\b\.?")


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    without_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_ORG_TYPES.sub(" ", without_accents).split())


class YenteStandIn(LoopbackServer):
    """A threaded loopback HTTP server that imitates yente's /match endpoint."""

    def __init__(self, entities: list[StandInEntity], datasets: tuple[str, ...] = ("default",)) -> None:
        """Serve these entities for the given dataset names; call start() (or use `with`)."""
        super().__init__()
        self.entities = list(entities)
        self.datasets = datasets
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._override: tuple[int, str] | None = None
        self._hanging = False

    name = "yente-standin"

    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. http://127.0.0.1:40123."""
        return self.base_url

    def _before_stop(self) -> None:
        self._release.set()  # release hanging requests

    def answer_with(self, status: int, body: str = '{"detail": "Internal Server Error"}') -> None:
        """Answer every request with this status and raw body until behave() is called."""
        self._override = (status, body)

    def hang(self) -> None:
        """Hold every request without answering (until stop() or behave())."""
        self._release.clear()
        self._hanging = True

    def behave(self) -> None:
        """Answer normally again."""
        self._override = None
        self._hanging = False
        self._release.set()

    @property
    def queries(self) -> list[str]:
        """Every name sent in /match queries so far, in order."""
        return [
            name
            for request in self.requests
            if isinstance(request.body, dict)
            for query in request.body.get("queries", {}).values()
            for name in query.get("properties", {}).get("name", [])
        ]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _match(self, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "match":
            return 404, {"detail": "Not Found"}
        if parts[1] not in self.datasets:
            return 404, {"detail": f"No such dataset: {parts[1]}"}
        if not isinstance(body, dict) or not isinstance(body.get("queries"), dict) or not body["queries"]:
            return 400, {"detail": "No queries provided."}
        threshold = float(query.get("threshold", ["0.7"])[0])
        limit = int(query.get("limit", ["5"])[0])
        responses = {}
        for key, example in body["queries"].items():
            names = example.get("properties", {}).get("name", [])
            scored = []
            for entity in self.entities:
                score = max((fuzz.WRatio(_plain(q), _plain(n)) / 100 for q in names for n in entity.names), default=0.0)
                if score >= 0.5:
                    scored.append((round(score, 3), entity))
            scored.sort(key=lambda pair: -pair[0])
            results = [self._result(entity, score, threshold) for score, entity in scored[:limit]]
            responses[key] = {
                "status": 200,
                "results": results,
                "total": {"value": len(results), "relation": "eq"},
                "query": example,
            }
        return 200, {"responses": responses, "matcher": {}, "limit": limit}

    @staticmethod
    def _result(entity: StandInEntity, score: float, threshold: float) -> dict[str, Any]:
        properties: dict[str, list[str]] = {"name": entity.names[:1], "alias": entity.names[1:]}
        properties.update(entity.properties)
        return {
            "id": entity.id,
            "caption": entity.caption,
            "schema": entity.schema,
            "properties": properties,
            "datasets": entity.datasets,
            "referents": [],
            "target": True,
            "first_seen": entity.first_seen,
            "last_seen": entity.first_seen,
            "score": score,
            "features": {},
            "match": score >= threshold,
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body: Any = json.loads(raw or b"null")
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                if standin._hanging:
                    standin._release.wait(_HANG_LIMIT_S)
                override = standin._override
                if override is not None:
                    status, text = override
                    answer: Any = text
                else:
                    status, answer = standin._match(url.path, query, body)
                    text = json.dumps(answer)
                standin._record(RecordedRequest("POST", url.path, query, body, status, answer))
                payload = text.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout test); nothing left to answer

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

        return Handler
