"""Ingest hardening: hostile files cannot stall, bloat or relabel the index (review findings F12, F15)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from assistant.errors import SourceError
from assistant.identity import User
from assistant.knowledge.embeddings import Embedder
from assistant.knowledge.limits import IngestLimits
from assistant.knowledge.loaders import load_file
from assistant.service import AssistantService, create_service

from .conftest import REPO, make_settings, run_cli

GUIDE = """---
id: {id}
title: {title}
source_type: practice
audience: {audience}
cite_as: {cite}
---
# {title}

## 1. Screening

Screen every end user of {title} against the restricted-party list before quoting.
"""


def guide(folder: Path, name: str, audience: str) -> Path:
    stem = name.split(".")[0]
    path = folder / name
    path.write_text(GUIDE.format(id=stem, title=stem.title(), audience=audience, cite=stem.upper()), encoding="utf-8")
    return path


def capped_service(tmp_path: Path, embedder: Embedder, **caps: object) -> AssistantService:
    return create_service(make_settings(tmp_path / "capped-home", **caps), embedder=embedder)


def visible(service: AssistantService, audience: str) -> set[str]:
    return {s.doc_id for s in service.sources(User.for_audience(audience))}


def stored_audience(service: AssistantService, doc_id: str) -> str:
    return next(s.audience for s in service.sources() if s.doc_id == doc_id)


# -- F12: a hostile Markdown heading cannot stall the ingest --------------------------------------------------

_PARSE_IN_CHILD = """
import json, sys
from pathlib import Path
from assistant.knowledge.loaders import load_file
path = Path(sys.argv[1])
parsed = load_file(path, path.read_bytes(), "internal")
print(json.dumps([[e.text, e.level] for e in parsed.elements]))
"""


def test_a_huge_heading_like_line_parses_in_linear_time(tmp_path: Path) -> None:
    # The old heading regex backtracked cubically: 800 spaces took 0.7 s, so 20,000 would take hours.
    path = tmp_path / "hostile.md"
    path.write_text("# Intro\n\n# a" + " " * 20_000 + "x\n\nBody text.\n", encoding="utf-8")
    child = subprocess.run(
        [sys.executable, "-c", _PARSE_IN_CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=str(REPO),
    )
    assert child.returncode == 0, child.stderr
    elements = json.loads(child.stdout)
    assert elements[0] == ["Intro", 1]
    assert elements[1][1] == 1 and elements[1][0].startswith("a ") and elements[1][0].endswith(" x")
    assert elements[2] == ["Body text.", 0]


def test_headings_still_parse_as_before(tmp_path: Path) -> None:
    path = tmp_path / "headings.md"
    lines = [
        "# Title",
        "## 4. Partner obligations ##",
        "###   Spaced out   ",
        "#\tTabbed heading",
        "#### Closing hashes #   ",
        "###### Six",
        "####### Seven is a paragraph",
        "#NoSpace is a paragraph",
    ]
    path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    parsed = load_file(path, path.read_bytes(), "internal")
    assert [(e.text, e.level) for e in parsed.elements] == [
        ("Title", 1),
        ("4. Partner obligations", 2),
        ("Spaced out", 3),
        ("Tabbed heading", 1),
        ("Closing hashes", 4),
        ("Six", 6),
        ("####### Seven is a paragraph", 0),
        ("#NoSpace is a paragraph", 0),
    ]


# -- F12: caps on bytes, pages and parse time per file --------------------------------------------------------


def test_a_file_over_the_byte_cap_is_refused_and_the_rest_ingested(tmp_path: Path, embedder: Embedder) -> None:
    service = capped_service(tmp_path, embedder, ingest_max_file_bytes=2_000)
    docs = tmp_path / "docs"
    docs.mkdir()
    guide(docs, "small.md", "partner")
    (docs / "huge.md").write_text("# Huge\n\n" + "Padding sentence about resellers.\n" * 200, encoding="utf-8")
    report = service.ingest([docs])
    assert len(report.errors) == 1
    assert "huge.md" in report.errors[0] and "2000 bytes" in report.errors[0]
    assert {s.doc_id for s in service.sources()} == {"small"}


def make_pdf(path: Path, pages: int) -> Path:
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for number in range(1, pages + 1):
        pdf.add_page()
        pdf.multi_cell(0, 6, f"Principle {number}")
        pdf.ln(2)
        pdf.multi_cell(0, 6, "Partners must name the end user before a surveillance capable product is quoted.")
    pdf.output(str(path))
    return path


def test_a_pdf_over_the_page_cap_is_refused(tmp_path: Path, embedder: Embedder) -> None:
    service = capped_service(tmp_path, embedder, ingest_max_pdf_pages=3)
    docs = tmp_path / "docs"
    docs.mkdir()
    make_pdf(docs / "short.pdf", pages=3)
    make_pdf(docs / "long.pdf", pages=5)
    report = service.ingest([docs])
    assert len(report.errors) == 1
    assert "long.pdf" in report.errors[0] and "5 pages" in report.errors[0] and "3" in report.errors[0]
    assert {s.doc_id for s in service.sources()} == {"short"}


def _docx_with_extra_member(path: Path, member_bytes: int) -> Path:
    document = docx.Document()
    document.add_heading("Partner Handbook", level=1)
    document.add_paragraph("Check who the end user is.")
    document.save(str(path))
    # Zeros compress about a thousandfold: the file stays small, its unpacked size does not.
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/media/padding.bin", b"\x00" * member_bytes)
    return path


def test_a_docx_zip_bomb_is_refused_before_parsing(tmp_path: Path, embedder: Embedder) -> None:
    cap = 2_000_000  # a blank python-docx document already unpacks to about 0.8 MB
    service = capped_service(tmp_path, embedder, ingest_max_file_bytes=cap)
    docs = tmp_path / "docs"
    docs.mkdir()
    bomb = _docx_with_extra_member(docs / "bomb.docx", member_bytes=4 * cap)
    _docx_with_extra_member(docs / "fine.docx", member_bytes=1_000)
    assert bomb.stat().st_size < cap  # only its unpacked size is over the cap
    report = service.ingest([docs])
    assert len(report.errors) == 1
    assert "bomb.docx" in report.errors[0] and "unpacked" in report.errors[0] and str(cap) in report.errors[0]
    assert {s.doc_id for s in service.sources()} == {"fine"}


def _slow_html(path: Path, paragraphs: int) -> Path:
    body = "".join(f"<p>Paragraph {i} about end users and screening.</p>" for i in range(paragraphs))
    path.write_text(f"<html><body>{body}</body></html>", encoding="utf-8")
    return path


def test_a_file_over_the_parse_time_cap_is_refused(tmp_path: Path, embedder: Embedder) -> None:
    service = capped_service(tmp_path, embedder, ingest_max_parse_seconds=0.2)
    docs = tmp_path / "docs"
    docs.mkdir()
    guide(docs, "quick.md", "partner")
    _slow_html(docs / "slow.html", paragraphs=60_000)  # about 3 s to parse on a quiet machine
    report = service.ingest([docs])
    assert len(report.errors) == 1
    assert "slow.html" in report.errors[0] and "0.2 s" in report.errors[0]
    assert {s.doc_id for s in service.sources()} == {"quick"}


def test_the_parse_time_cap_interrupts_a_single_long_parser_call(tmp_path: Path) -> None:
    # BeautifulSoup parses the whole page in one call, so only an interrupt (not a check between
    # elements) can stop it early. Uncapped, this 10 MB page takes about 20 s.
    path = _slow_html(tmp_path / "slow.html", paragraphs=200_000)
    started = time.perf_counter()
    with pytest.raises(SourceError, match=r"slow\.html: parsing took longer than 0\.2 s"):
        load_file(path, path.read_bytes(), "internal", limits=IngestLimits(max_parse_seconds=0.2))
    # Uncapped, the parse alone takes about 20 s on an idle 2-core machine; interrupted, the run (including
    # freeing the half-built tree) took 1-7 s, the upper end with the whole test suite running beside it.
    assert time.perf_counter() - started < 15


# -- F12: YAML front matter may not use anchors or aliases ----------------------------------------------------


@pytest.mark.parametrize(
    "front_matter",
    [
        "title: &t Alias Guide\ncite_as: *t",
        "title: Anchor Guide\nowner: &o compliance",
        "base: &b {source_type: practice}\ntitle: Merge Guide\n<<: *b",
    ],
)
def test_front_matter_with_anchors_or_aliases_is_refused(
    tmp_path: Path, service: AssistantService, front_matter: str
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    guide(docs, "plain.md", "partner")
    (docs / "aliased.md").write_text(
        f"---\nid: aliased\nsource_type: practice\naudience: partner\n{front_matter}\n---\n# Aliased\n\nText.\n",
        encoding="utf-8",
    )
    report = service.ingest([docs])
    assert len(report.errors) == 1
    assert "aliased.md" in report.errors[0] and "anchors and aliases" in report.errors[0]
    assert {s.doc_id for s in service.sources()} == {"plain"}


# -- F15: --audience is a ceiling ------------------------------------------------------------------------------


def test_audience_is_a_ceiling_that_front_matter_may_narrow_but_not_widen(
    tmp_path: Path, service: AssistantService
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    guide(docs, "open.md", "public")
    guide(docs, "shared.md", "partner")
    guide(docs, "staff.md", "internal")
    service.ingest([docs], audience="partner")
    assert {d: stored_audience(service, d) for d in ("open", "shared", "staff")} == {
        "open": "partner",
        "shared": "partner",
        "staff": "internal",
    }


def test_without_audience_front_matter_decides_and_bare_files_stay_internal(
    tmp_path: Path, service: AssistantService
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    guide(docs, "open.md", "public")
    (docs / "memo.md").write_text("# Memo\n\nPricing floor for camera bundles.\n", encoding="utf-8")
    service.ingest([docs])
    assert stored_audience(service, "open") == "public"
    assert stored_audience(service, "memo") == "internal"
    # Re-ingesting the same unchanged files under a narrower ceiling re-labels them.
    report = service.ingest([docs], audience="internal")
    assert report.files_changed == 2
    assert stored_audience(service, "open") == "internal"
    assert "open" not in visible(service, "partner")


def test_cli_audience_internal_keeps_a_public_file_internal(tmp_path: Path, cli_home: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    guide(docs, "leaflet.md", "public")
    ingested = run_cli("ingest", "--json", "--audience", "internal", str(docs), home=cli_home)
    assert ingested.returncode == 0, ingested.stderr
    listed = run_cli("sources", "--json", home=cli_home)
    assert [(s["doc_id"], s["audience"]) for s in json.loads(listed.stdout)] == [("leaflet", "internal")]


# -- F15: symbolic links are not followed ----------------------------------------------------------------------


def test_symlinked_files_and_folders_inside_a_folder_are_skipped(tmp_path: Path, service: AssistantService) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    guide(outside, "secret.md", "partner")
    docs = tmp_path / "docs"
    docs.mkdir()
    guide(docs, "real.md", "partner")
    (docs / "link.md").symlink_to(outside / "secret.md")
    (docs / "linked-folder").symlink_to(outside, target_is_directory=True)
    report = service.ingest([docs])
    assert {s.doc_id for s in service.sources()} == {"real"}
    assert len(report.errors) == 2
    assert all("symbolic link" in e for e in report.errors)
    assert any("link.md" in e for e in report.errors) and any("linked-folder" in e for e in report.errors)
