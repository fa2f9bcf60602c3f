"""Documents nobody here wrote for us: designed PDFs, HTML and DOCX, built in the test with real libraries.

Every text below is written for this test; none is copied from the UN Guiding Principles or a real report.
"""

from __future__ import annotations

import re
from pathlib import Path

import docx
from fpdf import FPDF

from assistant.identity import User
from assistant.knowledge.chunking import chunk_document
from assistant.knowledge.documents import Chunk, ParsedDocument
from assistant.knowledge.loaders import load_file
from assistant.knowledge.page_furniture import strip_page_furniture
from assistant.service import AssistantService


def _load(path: Path) -> tuple[ParsedDocument, list[Chunk]]:
    parsed = load_file(path, path.read_bytes(), "internal", root=path.parent)
    return parsed, chunk_document(parsed, "hash")


# -- (a) a 42-page document of principles ------------------------------------------------------------------------

PRINCIPLES_TITLE = "Principles for Responsible Channel Sales"
PRINCIPLES_HEADER = "Channel Sales Principles | Second edition"
TOPICS = [
    "publish a commitment to respect the people its products reach",
    "name an executive who answers for channel conduct",
    "train sales staff on the misuse its products allow",
    "map the distributors, resellers and integrators it sells through",
    "ask each partner who the final customer is",
    "check final customers against restricted lists",
    "screen destinations for a record of repression",
    "review licences before a shipment leaves",
    "write end-use promises into partner contracts",
    "keep partner records for at least five years",
    "refuse deals where the end use stays unknown",
    "escalate surveillance-capable deals to compliance",
    "give partners a way to raise concerns in confidence",
    "audit a sample of partner deals every year",
    "share red flags with its partners",
    "report publicly on what it found and did",
    # 17 is written out below
    "rank risks by how severe and how likely the harm is",
    "act first where harm would be hardest to undo",
    "use its leverage over a partner before walking away",
    "plan an exit that limits harm to people when leverage fails",
    "track whether its responses worked",
    "consult people who may be affected",
    "remedy harm it caused or contributed to",
    "cooperate with remedies others provide",
    "keep a grievance channel open to outsiders",
    "answer grievances within a stated time",
    "protect those who raise a grievance from reprisal",
    "learn from grievances to change its practice",
    "align its lobbying with these principles",
    "revisit these principles as its products change",
]
PRINCIPLE_17 = (
    "17. To find, prevent and answer for harm linked to what they sell, vendors should run human rights due "
    "diligence that reaches through their distributors and resellers to the final customer, covering the "
    "products, the buyers and the places of use."
)
COMMENTARY_17 = (
    "Due diligence here is a habit rather than a single check. A vendor repeats it when a partner changes, when "
    "a product gains new features and when a destination's record worsens, and it keeps notes that show what it "
    "asked, what it was told and what it decided."
)


class _PrinciplesPdf(FPDF):
    def header(self) -> None:
        if self.page_no() > 1:
            self.set_font("Helvetica", size=8)
            self.cell(0, 5, PRINCIPLES_HEADER)
            self.ln(10)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font("Helvetica", size=8)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="C")


def _body(pdf: FPDF, text: str) -> None:
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)


def _principle(pdf: FPDF, number: int) -> None:
    if number == 17:
        _body(pdf, PRINCIPLE_17)
        return
    topic = TOPICS[number - 1 if number < 17 else number - 2]
    _body(pdf, f"{number}. Every vendor that sells through partners should {topic}, and should be able to show it.")


def _commentary(pdf: FPDF, text: str) -> None:
    pdf.set_font("Helvetica", "B", 11)
    pdf.multi_cell(0, 6, "Commentary", new_x="LMARGIN", new_y="NEXT")
    _body(pdf, text)


def make_principles_pdf(path: Path) -> Path:
    """42 pages: cover, three front pages, principles 1-31 one a page (17's commentary on the next page),
    closing pages. Principle N sits on page N + 4 up to 17, and on page N + 5 after it."""
    pdf = _PrinciplesPdf()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 26)
    pdf.multi_cell(0, 12, PRINCIPLES_TITLE, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    _body(pdf, "A statement of what a vendor owes the people its products reach when it sells through others.")
    for text in (
        "Foreword. These principles grew out of questions that sales teams kept asking about partners.",
        "How to read them. Each principle is one numbered paragraph, followed by a commentary on its use.",
        "Scope. They apply to hardware and software sold through any channel, direct sales included.",
    ):
        pdf.add_page()
        _body(pdf, text)
    for number in range(1, 32):
        pdf.add_page()
        _principle(pdf, number)
        if number == 17:
            pdf.add_page()  # the commentary runs onto a page of its own
            _commentary(pdf, COMMENTARY_17)
        else:
            topic = TOPICS[number - 1 if number < 17 else number - 2]
            _commentary(pdf, f"A reviewer should be able to see how the vendor chose to {topic}, and who agreed.")
    while pdf.page_no() < 42:
        pdf.add_page()
        _body(pdf, f"Closing remarks, part {pdf.page_no() - 36}: the principles are reviewed every second year.")
    pdf.output(str(path))
    return path


def test_a_document_of_principles_is_cited_by_principle_and_page(tmp_path: Path) -> None:
    parsed, chunks = _load(make_principles_pdf(tmp_path / "channel_principles_2027.pdf"))
    assert parsed.info.title == PRINCIPLES_TITLE  # from the big text on page 1: no metadata title, not the file name
    assert parsed.info.cite_as == PRINCIPLES_TITLE
    by_locator: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        by_locator.setdefault(chunk.locator, []).append(chunk)

    principle = by_locator[f"{PRINCIPLES_TITLE} Principle 17, p. 21"]
    assert [c.text for c in principle] == [PRINCIPLE_17]
    commentary = by_locator[f"{PRINCIPLES_TITLE} Principle 17, p. 22"]
    assert [c.text for c in commentary] == [COMMENTARY_17]  # belongs to the principle above, on its own page
    assert commentary[0].heading_path == ("Principle 17", "Commentary")
    assert f"{PRINCIPLES_TITLE} Principle 5, p. 9" in by_locator
    assert f"{PRINCIPLES_TITLE} Principle 31, p. 36" in by_locator
    principle_18, commentary_18 = by_locator[f"{PRINCIPLES_TITLE} Principle 18, p. 23"]
    assert principle_18.text.startswith("18. ") and commentary_18.heading_path == ("Principle 18", "Commentary")

    for chunk in chunks:  # no page furniture in any quote
        assert "Second edition" not in chunk.text and "Channel Sales Principles |" not in chunk.text
        assert not re.search(r"Page \d+ of", chunk.text)


# -- (b) a designed report with a navigation band, footnotes and endnotes -----------------------------------------

REPORT_TITLE = "Channel Risk Outlook 2028"
REPORT_HEADER = "Channel Risk Outlook 2028 - Annual review of partner sales"
BAND = ["At a glance", "Channel landscape", "Duties and deadlines", "Supervision and penalties"]


class _ReportPdf(FPDF):
    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font("Helvetica", size=8)
        self.cell(0, 5, REPORT_HEADER)
        self.ln(6)
        # A navigation band of chapter names down the right edge, on every page.
        top = self.get_y()
        for offset, name in enumerate(BAND):
            self.set_xy(170, top + 4 * offset)
            self.cell(30, 4, name)
        self.set_xy(self.l_margin, top + 20)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.cell(0, 5, str(self.page_no()), align="R")


def _text_with_markers(pdf: FPDF, parts: list[str | int]) -> None:
    """Body text where ints are footnote markers, set as superscripts (extraction glues them to the word)."""
    pdf.set_font("Helvetica", size=11)
    for part in parts:
        if isinstance(part, int):
            pdf.char_vpos = "SUP"
            pdf.write(6, str(part))
            pdf.char_vpos = "LINE"
        else:
            pdf.write(6, part)
    pdf.ln(9)


def _heading(pdf: FPDF, text: str) -> None:
    pdf.set_font("Helvetica", "B", 13)
    pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _footnotes(pdf: FPDF, notes: list[str]) -> None:
    pdf.set_y(-20 - 5 * len(notes))
    pdf.set_font("Helvetica", size=8)
    for note in notes:
        pdf.multi_cell(0, 4, note, new_x="LMARGIN", new_y="NEXT")


REPORT_PAGES: list[tuple[list[str], list[list[str | int]], list[str]]] = [
    (
        ["1 Overview"],
        [
            ["Partner sales of network equipment grew again in 2027, and so did the questions about who buys it."],
            [
                "Vendors shipped 2,000 units of interception-capable gear through distributors in 2024. The share sold "
                "to unnamed final customers fell for the first time",
                1,
                ".",
            ],
        ],
        ["1 Industry survey of forty vendors, spring 2028, weighted by revenue."],
    ),
    (
        ["2 Market developments", "2.1 Distributor consolidation"],
        [
            [
                "Three large distributors now carry most of the volume, which concentrates both risk and leverage.",
                2,
                " Vendors that audit these three reach most of their channel with little effort.",
            ],
            ["Several vendors cite Principle 17 of their own codes when they explain why they audit partners at all."],
        ],
        ["2 Distributor filings for the 2027 financial year."],
    ),
    (
        ["3 Obligations", "3.1 Record keeping"],
        [
            [
                "The new reporting duty for channel partners applies from 26 July 2029.",
                3,
                " Before that date, vendors keep end-user statements under their existing rules.",
            ],
            [
                "Partners must keep the statement on file for five years, and Article 5.2 of the model contract "
                "lets the vendor inspect it. The current template is version 3.5 of the form."
            ],
            [
                "Vendors also owe duties to respect human rights.",
                4,
                " Those duties reach partners through contract obligations",
                5,
                " and through training.",
            ],
        ],
        [
            "3 Regulation (EU) 2026/1010 of the European Parliament on channel reporting, Article 12.",
            "4 See the discussion of responsibility in chapter 2 of the methodology annex.",
        ],
    ),
    (
        ["4 Enforcement"],
        [
            [
                "1. Supervisors opened eleven cases against vendors in the year, most of them about missing end-user "
                "statements and late reports.",
                6,
            ],
            [
                "2. Fines stayed modest, but two vendors lost the right to export for six months, which cost them far "
                "more than any fine.",
                7,
            ],
            ["3. Supervisors now ask vendors for the partner audits themselves rather than summaries of them."],
        ],
        [],
    ),
]
ENDNOTES = [
    "5 Model partner agreement, clause on conduct and audit rights.",
    "6 Annual enforcement statistics of the supervisory authority, table three.",
    "7 Decisions published by the export control office in March and June 2028.",
]


def make_report_pdf(path: Path) -> Path:
    pdf = _ReportPdf()
    pdf.set_title("Microsoft Word - outlook_draft3.docx")  # junk metadata an authoring tool left behind
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 28)
    pdf.multi_cell(0, 14, REPORT_TITLE, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=14)
    pdf.multi_cell(
        0, 8, "How vendors and their partners handled end-use risk in the past year", new_x="LMARGIN", new_y="NEXT"
    )
    for headings, paragraphs, notes in REPORT_PAGES:
        pdf.add_page()
        for heading in headings:
            _heading(pdf, heading)
        for paragraph in paragraphs:
            _text_with_markers(pdf, paragraph)
        if notes:
            _footnotes(pdf, notes)
    pdf.add_page()
    _heading(pdf, "Endnotes")
    pdf.set_font("Helvetica", size=9)
    for note in ENDNOTES:
        pdf.multi_cell(0, 5, note, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def test_a_designed_report_reads_cleanly(tmp_path: Path) -> None:
    parsed, chunks = _load(make_report_pdf(tmp_path / "outlook_final_v3.pdf"))
    assert parsed.info.title == REPORT_TITLE
    body = [c for c in chunks if c.heading_path and c.heading_path[-1] not in ("Notes", "Endnotes")]
    text = "\n".join(c.text for c in body)

    for furniture in [REPORT_HEADER, "Annual review", *BAND]:
        assert all(furniture not in c.text for c in chunks), furniture
    assert not any(re.fullmatch(r"\d+", line.strip()) for c in chunks for line in c.text.split("\n"))
    # Markers out, real numbers kept.
    assert "from 26 July 2029. Before that date" in text
    assert "human rights. Those duties" in text and "contract obligations and through training" in text
    assert "leverage. Vendors that audit" in text and "for the first time." in text
    assert "Article 5.2" in text and "version 3.5" in text and "2,000 units" in text and "in 2024. The" in text
    assert "Principle 17" in text
    assert not re.search(r"[a-z][.,]?\d", text.replace("Article 5.2", "").replace("version 3.5", ""))

    locators = {c.locator for c in chunks}
    assert f"{REPORT_TITLE} Section 2.1, p. 3" in locators
    assert f"{REPORT_TITLE} Section 3.1, p. 4" in locators
    assert f"{REPORT_TITLE} para. 2, p. 5" in locators  # numbered paragraphs of the enforcement chapter
    labels = {c.locator.removeprefix(REPORT_TITLE).split(",")[0].strip() for c in chunks}
    assert labels == {
        "",
        "Section 1",
        "Section 2.1",
        "Section 3.1",
        "para. 1",
        "para. 2",
        "para. 3",
        "› Notes",
        "› Endnotes",
    }  # no endnote or footnote number ever became a locator

    notes = {c.locator: c.text for c in chunks if c.heading_path == ("Notes",)}
    assert notes[f"{REPORT_TITLE} › Notes, p. 4"].startswith("3 Regulation (EU) 2026/1010")
    assert "4 See the discussion" in notes[f"{REPORT_TITLE} › Notes, p. 4"]
    assert (
        notes[f"{REPORT_TITLE} › Notes, p. 2"]
        == "1 Industry survey of forty vendors, spring 2028, weighted by revenue."
    )
    endnotes = next(c for c in chunks if c.heading_path == ("Endnotes",))
    assert endnotes.locator == f"{REPORT_TITLE} › Endnotes, p. 6"
    assert all(note in endnotes.text for note in ENDNOTES)


def test_report_notes_are_retrievable_as_notes(service: AssistantService, tmp_path: Path) -> None:
    docs = tmp_path / "reports"
    docs.mkdir()
    make_report_pdf(docs / "outlook.pdf")
    report = service.ingest([docs])
    assert not report.errors
    found = service.retriever.retrieve(
        "Which regulation on channel reporting is cited?", User.for_audience("internal").audiences, k=5
    )
    assert f"{REPORT_TITLE} › Notes, p. 4" in [p.locator for p in found.passages]


# -- titles of HTML and DOCX files -----------------------------------------------------------------------------------


def test_html_title_is_the_page_heading_not_the_site_suffix_or_junk(tmp_path: Path) -> None:
    suffixed = tmp_path / "guide.html"
    suffixed.write_text(
        "<html><head><title>Reseller Onboarding Guide | Northwind Partner Portal</title></head><body>"
        "<h1>Reseller Onboarding Guide</h1><p>Start here.</p><h2>3.2 Scope</h2><p>Who the guide covers.</p>"
        "</body></html>",
        encoding="utf-8",
    )
    parsed, chunks = _load(suffixed)
    assert parsed.info.title == "Reseller Onboarding Guide"
    assert [c.locator for c in chunks] == ["Reseller Onboarding Guide", "Reseller Onboarding Guide Section 3.2"]

    junk = tmp_path / "page_17.html"
    junk.write_text(
        "<html><head><title>Untitled document</title></head><body><h1>Escalation Playbook</h1><p>Text.</p>"
        "</body></html>",
        encoding="utf-8",
    )
    assert _load(junk)[0].info.title == "Escalation Playbook"


def test_docx_title_from_title_style_when_metadata_is_junk(tmp_path: Path) -> None:
    document = docx.Document()
    document.core_properties.title = "Microsoft Word - handbook_v7.docx"
    document.add_paragraph("Distributor Due Diligence Handbook", style="Title")
    document.add_paragraph("Opening words.")
    document.add_heading("Article 4 Records", level=1)
    document.add_paragraph("Keep the records.")
    path = tmp_path / "handbook_v7.docx"
    document.save(str(path))
    parsed, chunks = _load(path)
    assert parsed.info.title == "Distributor Due Diligence Handbook"
    assert [c.locator for c in chunks] == [
        "Distributor Due Diligence Handbook",
        "Distributor Due Diligence Handbook Article 4",
    ]

    untitled = docx.Document()
    untitled.add_heading("Partner Exit Procedure", level=1)
    untitled.add_paragraph("When leverage fails, plan the exit.")
    bare = tmp_path / "exit.docx"
    untitled.save(str(bare))
    assert _load(bare)[0].info.title == "Partner Exit Procedure"


# -- the furniture pass on its own -----------------------------------------------------------------------------------


def test_furniture_is_taken_from_page_edges_only() -> None:
    body = ["Scope of the review", "Method", "Findings", "Partners", "Risks", "Remedies", "Outlook"]
    pages = [["Annual review", f"Principle {n}", "Commentary", body[n - 1], str(n)] for n in range(1, 8)]
    stripped = strip_page_furniture(pages)
    # The running header and page numbers go; a principle heading numbered like its page and a heading
    # that repeats mid-page stay.
    assert stripped[2] == ["Principle 3", "Commentary", "Findings"]


def test_a_sentence_repeated_on_a_few_pages_is_kept() -> None:
    sentence = "Partners must name the end user before a surveillance capable product is quoted."
    pages = [[f"Principle {n}", sentence] for n in range(1, 4)]
    assert strip_page_furniture(pages) == pages
