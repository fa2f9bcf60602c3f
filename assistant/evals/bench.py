"""`assistant bench`: speed figures, each printed beside its reference measured in the same run."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from ..config import Settings
from ..identity import User
from ..knowledge.embeddings import Embedder
from ..service import AssistantService, create_service
from .figures import Figure, machine, render
from .metrics import load_jsonl, percentile
from .party_bench import party_screening_figure
from .scale import SCALE_CHUNKS, run_scale

__all__ = ["Figure", "machine", "main_bench", "render", "run_bench"]


def run_bench(settings: Settings, questions_file: Path, rounds: int = 3) -> list[Figure]:
    """Measure ingest, re-ingest, warm ask and cold start against raw model timings."""
    figures: list[Figure] = []
    embedder = Embedder(settings.embedding_model)
    embedder.model()
    with tempfile.TemporaryDirectory(prefix="assistant-bench-") as tmp:
        bench_settings = settings.model_copy(update={"home": Path(tmp), "chroma_url": ""})
        service = create_service(bench_settings, embedder=embedder)

        started = time.perf_counter()
        report = service.ingest([settings.corpus])
        ingest_s = time.perf_counter() - started
        # The reference encodes exactly what ingestion embeds: the context line plus the passage.
        embed_texts = []
        for chunk in service.store.all_chunks():
            meta = chunk.metadata
            context = " › ".join(x for x in (str(meta.get("title", "")), str(meta.get("heading_path", ""))) if x)
            embed_texts.append(f"{meta.get('locator')}. {context}\n{chunk.text}")
        encode_times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            embedder.embed_documents(embed_texts)
            encode_times.append(time.perf_counter() - t0)
        encode_s = statistics.median(encode_times)
        figures.append(
            Figure(
                f"ingest shipped corpus ({report.chunks_added} chunks)",
                ingest_s,
                "s",
                "raw encode of the same chunks",
                encode_s,
                1.3,
            )
        )

        reingest = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            service.ingest([settings.corpus])
            reingest.append(time.perf_counter() - t0)
        figures.append(Figure("re-ingest unchanged corpus", statistics.median(reingest), "s", "target", 1.0, 1.0))

        questions = [item["question"] for item in load_jsonl(questions_file)]
        user = User.for_audience("internal")
        service.warm_up()
        for q in questions[:5]:
            service.ask(q, user)
            embedder.embed_query(q)
        ask_ms: list[float] = []
        embed_ms: list[float] = []
        for _ in range(rounds):
            for q in questions:
                t0 = time.perf_counter()
                embedder.embed_query(q)
                embed_ms.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                service.ask(q, user)
                ask_ms.append((time.perf_counter() - t0) * 1000)
        embed_p50 = statistics.median(embed_ms)
        figures.append(
            Figure("warm ask p50", statistics.median(ask_ms), "ms", "raw query embedding p50", embed_p50, 2.0)
        )
        figures.append(
            Figure(
                "warm ask p95",
                percentile(ask_ms, 0.95),
                "ms",
                "raw query embedding p95",
                percentile(embed_ms, 0.95),
                None,
            )
        )

        screen_figure = _screen_figure(service, embedder, questions_file.parent)
        figures.append(screen_figure)
        figures.append(party_screening_figure(settings, _bench_deals(questions_file.parent), screen_figure.value))

        env = {**os.environ, "ASSISTANT_HOME": tmp, "ASSISTANT_CORPUS": str(settings.corpus)}
        env.pop("ASSISTANT_CHROMA_URL", None)
        cold = subprocess.run(
            [sys.executable, "-m", "assistant", "ask", "--json", questions[0]],
            capture_output=True,
            env=env,
            check=False,
        )
        t0 = time.perf_counter()
        cold = subprocess.run(
            [sys.executable, "-m", "assistant", "ask", "--json", questions[0]],
            capture_output=True,
            env=env,
            check=False,
        )
        cold_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from sentence_transformers import SentenceTransformer as S; import sys;"
                "S(sys.argv[1], device='cpu').encode(['warm'])",
                settings.embedding_model,
            ],
            capture_output=True,
            env={**env, "HF_HUB_OFFLINE": "1"},
            check=False,
        )
        load_s = time.perf_counter() - t0
        if cold.returncode == 0:
            figures.append(
                Figure(
                    "cold start (process, first answer)", cold_s, "s", "process that only loads the model", load_s, None
                )
            )
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures.append(Figure("peak memory (this benchmark process)", peak_mib, "MiB"))
    return figures


def _bench_deals(evals_dir: Path) -> list[str]:
    return [
        str(item["scenario"])
        for path in sorted(evals_dir.glob("deals*.jsonl"))
        if not path.name.startswith("deals_sealed")  # never read before its single measurement
        for item in load_jsonl(path)
    ]


def _screen_figure(service: AssistantService, embedder: Embedder, evals_dir: Path) -> Figure:
    """Median time to screen a deal (no case) beside the model's share of it: embedding the deal's clauses."""
    deals = _bench_deals(evals_dir)
    user = User.for_audience("internal")
    extractor = service.triage.extractor
    for deal in deals[:5]:
        service.screen(deal, user, open_case=False, channel="bench")
    screen_ms: list[float] = []
    embed_ms: list[float] = []
    for deal in deals:
        t0 = time.perf_counter()
        embedder.embed_documents(extractor.clauses(extractor.mask_benign(extractor.mask_answered_no(deal))) or [deal])
        embed_ms.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        service.screen(deal, user, open_case=False, channel="bench")
        screen_ms.append((time.perf_counter() - t0) * 1000)
    return Figure(
        f"screen a deal p50 ({len(deals)} deals)",
        statistics.median(screen_ms),
        "ms",
        "raw embedding of its clauses p50",
        statistics.median(embed_ms),
        3.0,
    )


def main_bench(
    settings: Settings, questions_file: Path, as_json: bool, *, scale: bool = False, scale_chunks: int = SCALE_CHUNKS
) -> int:
    """The `assistant bench` command: 0 when every figure with a target meets it, 1 otherwise.

    With `scale`, only the scale run (a synthetic index of `scale_chunks` passages) is measured, in a
    process that has done nothing else, so its memory figures are its own.
    """
    if scale:
        result = run_scale(settings, questions_file, n_chunks=scale_chunks)
        figures = result.figures()
        if as_json:
            print(json.dumps({**result.to_json(), "machine": machine()}, indent=2))
            return 0 if all(f.ok is not False for f in figures) else 1
    else:
        figures = run_bench(settings, questions_file)
    if as_json:
        print(
            json.dumps(
                {"machine": machine(), "figures": [asdict(f) | {"ratio": f.ratio, "ok": f.ok} for f in figures]},
                indent=2,
            )
        )
    else:
        print(f"machine: {machine()}\n")
        print(render(figures))
    return 0 if all(f.ok is not False for f in figures) else 1
