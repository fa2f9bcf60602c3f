"""`assistant bench`: speed figures, each printed beside its reference measured in the same run."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..config import Settings
from ..identity import User
from ..knowledge.embeddings import Embedder
from ..service import create_service
from .metrics import load_jsonl


@dataclass
class Figure:
    """One measured figure next to its reference and the target ratio."""

    name: str
    value: float
    unit: str
    reference_name: str = ""
    reference: float | None = None
    target_ratio: float | None = None

    @property
    def ratio(self) -> float | None:
        return None if not self.reference else self.value / self.reference

    @property
    def ok(self) -> bool | None:
        if self.target_ratio is None or self.ratio is None:
            return None
        return self.ratio <= self.target_ratio


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def machine() -> str:
    """A one-line description of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, Python {platform.python_version()}"


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
        texts = [c.text for c in service.store.all_chunks()]
        metas = {c.id: c.metadata for c in service.store.all_chunks(with_text=False)}
        embed_texts = [
            f"{m.get('locator')}. {m.get('title')} › {m.get('heading_path')}\n{t}"
            for t, m in zip(texts, metas.values(), strict=False)
        ]
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
            Figure("warm ask p95", _p(ask_ms, 0.95), "ms", "raw query embedding p95", _p(embed_ms, 0.95), None)
        )

        env = {**os.environ, "ASSISTANT_HOME": tmp}
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


def render(figures: list[Figure]) -> str:
    """A Markdown table of the figures."""
    rows = ["| figure | value | reference | ratio | target |", "|---|---|---|---|---|"]
    for f in figures:
        ref = f"{f.reference:.3g} {f.unit} ({f.reference_name})" if f.reference is not None else ""
        ratio = f"{f.ratio:.2f}x" if f.ratio is not None else ""
        target = ""
        if f.target_ratio is not None:
            target = f"<= {f.target_ratio}x {'ok' if f.ok else 'MISSED'}"
        rows.append(f"| {f.name} | {f.value:.3g} {f.unit} | {ref} | {ratio} | {target} |")
    return "\n".join(rows)


def main_bench(settings: Settings, questions_file: Path, as_json: bool) -> int:
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
