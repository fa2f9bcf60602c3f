"""Loaders and chunking on real files of every supported format, generated here."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from assistant.errors import SourceError
from assistant.knowledge.chunking import chunk_document
from assistant.knowledge.loaders import load_file
from assistant.knowledge.structure import heading_label, make_locator


def _load(path: Path, audience: str = "internal"):
    parsed = load_file(path, path.read_bytes(), audience, root=path.parent)
    return parsed, chunk_document(parsed, "hash")


def make_pdf(path: Path) -> Path:
    """A PDF not written for this project: numbered principles over several pages, no bookmarks."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    pdf.set_title("Guiding Principles Reprint")
    pages = [
        (
            "Principle 16",
            "Companies should express their commitment through a policy statement approved at the "
            "most senior level of the business enterprise.",
        ),
        (
            "Principle 17",
            "In order to identify, prevent, mitigate and account for how they address impacts, "
            "enterprises should carry out human rights due diligence across their value chain.",
        ),
        (
            "4.2 End-user disclosure",
            "Partners must name the end user and the end use before a surveillance capable product is quoted.",
        ),
    ]
    for heading, body in pages:
        pdf.add_page()
        pdf.multi_cell(0, 6, heading)
        pdf.ln(2)
        pdf.multi_cell(0, 6, body)
    pdf.output(str(path))
    return path


def test_heading_labels() -> None:
    assert heading_label("Principle 17: Human rights due diligence") == "Principle 17"
    assert heading_label("Article 5(1)(h): Real-time biometric identification") == "Article 5(1)(h)"
    assert heading_label("4.2 End-user disclosure") == "4.2"
    assert heading_label("4. Partner obligations") == "4"
    assert heading_label("What it means for a vendor") is None
    assert make_locator("HREU", "4.2", "End-user disclosure", None) == "HREU 4.2"
    assert make_locator("Reprint", "Principle 17", None, 18) == "Reprint Principle 17, p. 18"


def test_markdown_front_matter_and_locators(tmp_path: Path) -> None:
    path = tmp_path / "policy.md"
    path.write_text(
        "---\nid: hreu\ntitle: Human Rights Policy\nsource_type: policy\naudience: partner\ncite_as: HREU\n"
        "version: '2'\neffective_date: 2026-01-15\n---\n# Human Rights Policy\n\nIntro text of the policy.\n\n"
        "## 4. Partner obligations\n\nPartners carry duties.\n\n### 4.2 End-user disclosure\n\n"
        "Partners must name the end user.\n\n#### Details\n\nMore detail under the clause.\n",
        encoding="utf-8",
    )
    parsed, chunks = _load(path)
    assert parsed.info.audience == "partner"
    assert parsed.info.effective_date == "2026-01-15"
    assert [c.locator for c in chunks] == ["HREU", "HREU 4", "HREU 4.2", "HREU 4.2"]
    assert chunks[2].heading_path == ("4. Partner obligations", "4.2 End-user disclosure")
    assert chunks[3].text == "More detail under the clause."


def test_markdown_without_front_matter_gets_default_audience(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# Field notes\n\nSome guidance text for the team.\n", encoding="utf-8")
    parsed, chunks = _load(path)
    assert parsed.info.audience == "internal"
    parsed, _ = _load(path, audience="partner")
    assert parsed.info.audience == "partner"
    assert chunks[0].doc.id == "notes"


def test_pdf_pages_and_principle_numbers(tmp_path: Path) -> None:
    _, chunks = _load(make_pdf(tmp_path / "reprint.pdf"))
    by_locator = {c.locator: c for c in chunks}
    assert "Guiding Principles Reprint Principle 17, p. 2" in by_locator
    assert "due diligence" in by_locator["Guiding Principles Reprint Principle 17, p. 2"].text
    # A bare-numbered heading in a document without front matter reads as the section it is.
    assert "Guiding Principles Reprint Section 4.2, p. 3" in by_locator
    assert all(c.page in (1, 2, 3) for c in chunks)


def test_html_headings(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Reseller Guide</title><script>var x=1;</script></head><body><nav>menu</nav>"
        "<h1>Reseller Guide</h1><p>Welcome.</p><h2>Article 5: Prohibited uses</h2><p>No social scoring.</p>"
        "<ul><li><p>Item one</p></li><li>Item two</li></ul></body></html>",
        encoding="utf-8",
    )
    _, chunks = _load(path)
    assert [c.locator for c in chunks] == ["Reseller Guide", "Reseller Guide Article 5"]
    assert "Item one" in chunks[1].text and "menu" not in chunks[0].text and "var x" not in chunks[0].text


def test_docx_heading_styles(tmp_path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = "Partner Handbook"
    document.add_heading("Partner Handbook", level=1)
    document.add_paragraph("Opening words.")
    document.add_heading("3. Know your customer", level=2)
    document.add_paragraph("Check who the end user is.")
    document.add_heading("3.1 End-user statement", level=3)
    document.add_paragraph("Obtain a signed statement.")
    path = tmp_path / "handbook.docx"
    document.save(str(path))
    _, chunks = _load(path)
    assert [c.locator for c in chunks] == [
        "Partner Handbook",
        "Partner Handbook Section 3",
        "Partner Handbook Section 3.1",
    ]


def test_plain_text_numbered_clauses(tmp_path: Path) -> None:
    path = tmp_path / "terms.txt"
    path.write_text(
        "Reseller terms\n\n2.1 Resellers must screen every customer against sanctions lists.\n\n"
        "2.2 Resellers must keep records for five years.\n",
        encoding="utf-8",
    )
    _, chunks = _load(path)
    assert [c.locator.split(" ")[-1] for c in chunks[-2:]] == ["2.1", "2.2"]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("broken.pdf", b"%PDF-1.4\n this is not really a pdf", "cannot be parsed as PDF"),
        ("fake.pdf", b"hello", "not a PDF"),
        ("blob.txt", b"\x00\x01\x02binary", "binary"),
        ("latin.md", "caf\u00e9".encode("latin-1"), "not valid UTF-8"),
        ("bad.docx", b"PK\x03\x04 nope", "cannot be parsed as DOCX"),
        ("data.csv", b"a,b\n", "unsupported file type"),
    ],
)
def test_bad_files_give_one_line_reasons(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(SourceError) as info:
        load_file(path, data, "internal")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "x.md"
    path.write_text("---\nid: x\ntitle: [unclosed\n---\nbody\n", encoding="utf-8")
    with pytest.raises(SourceError, match="invalid YAML front matter"):
        load_file(path, path.read_bytes(), "internal")
    path.write_text("---\nid: x\ntitle: X\nsource_type: policy\naudience: everyone\n---\nbody\n", encoding="utf-8")
    with pytest.raises(SourceError, match="audience 'everyone'"):
        load_file(path, path.read_bytes(), "internal")
