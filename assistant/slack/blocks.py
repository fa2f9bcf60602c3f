"""Block Kit builders: answers, screenings, case cards, modals and the App Home, within Slack's limits.

Everything here is pure (data in, JSON-ready dicts out), so the listeners stay short and the layout
can be read in one place. Slack's limits that matter: 3000 characters per section text, 50 blocks per
message (100 per view), 2000 characters per button value, 3000 per private_metadata.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from ..answers.models import Answer, Citation, Screening
from ..cases.models import Case
from ..enums import LEVEL_LABELS, STATUS_LABELS, UNDECIDED

Block = dict[str, Any]

SECTION_LIMIT = 3000
MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
BUTTON_VALUE_LIMIT = 2000
SOURCES_IN_MESSAGE = 5
FALLBACK_TEXT_LIMIT = 3000

LEVEL_EMOJI = {
    "proceed": ":large_green_circle:",
    "enhanced_due_diligence": ":large_yellow_circle:",
    "escalate": ":large_orange_circle:",
    "prohibited": ":red_circle:",
}
DECISION_TITLES = {"approve": "Approve", "reject": "Reject", "needs_info": "Request info"}


# -- text helpers ----------------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """The text cut to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def escaped_clip(text: str, limit: int) -> str:
    """`text` escaped for mrkdwn and cut to `limit` characters, never in the middle of an entity."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: max(0, limit - 1)]
    cut = re.sub(r"&[a-z]{0,3}$", "", cut)  # a cut '&amp;' would show as a stray '&am'
    return cut.rstrip() + "…"


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut at paragraph, line, sentence or word boundaries."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"))
        if cut < limit // 3:
            cut = window.rfind(". ") + 1 if window.rfind(". ") > limit // 3 else window.rfind(" ")
        if cut < limit // 3:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def paginate(blocks: Sequence[Block], limit: int = MESSAGE_BLOCK_LIMIT) -> list[list[Block]]:
    """Blocks split into messages of at most `limit` blocks each (at least one page, maybe empty)."""
    pages = [list(blocks[i : i + limit]) for i in range(0, len(blocks), limit)]
    return pages or [[]]


def section(text: str) -> Block:
    """A mrkdwn section (the caller keeps text within the limit; it is clipped as a last resort)."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}}


def sections(text: str) -> list[Block]:
    """As many sections as the text needs."""
    return [section(piece) for piece in split_text(text)]


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}]}


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    element: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value[:BUTTON_VALUE_LIMIT],
    }
    if style:
        element["style"] = style
    return element


def level_label(level: str) -> str:
    """The risk level as people read it, with its colour."""
    return f"{LEVEL_EMOJI.get(level, '')} {LEVEL_LABELS.get(level, level)}".strip()


def slack_date(when: datetime | None) -> str:
    """A date Slack shows in the reader's time zone (with a UTC fallback)."""
    if when is None:
        return "no deadline"
    stamp = int(when.timestamp())
    fallback = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{stamp}^{{date_short_pretty}} {{time}}|{fallback}>"


def source_line(citation: Citation, with_quote: bool = False, quote_limit: int = 300) -> str:
    """'[n] <url|Title> · locator' and, when asked, the quote beneath it."""
    title = escape(citation.title or citation.doc_id)
    linked = f"<{citation.url}|{title}>" if citation.url.startswith(("http://", "https://")) else f"*{title}*"
    line = f"*[{citation.n}]* {linked} · {escape(citation.locator)}"
    if with_quote and citation.quote:
        line += "\n> " + escape(clip(" ".join(citation.quote.split()), quote_limit))
    return line


def answer_ref(answer: Answer) -> str:
    """The button value that lets a later click find the answer again (its id and its question)."""
    payload = {"a": answer.answer_id, "q": ""}
    room = BUTTON_VALUE_LIMIT - len(json.dumps(payload))
    question = answer.question
    while len(json.dumps(question)) > room:
        question = question[: int(len(question) * 0.8)]
    payload["q"] = question
    return json.dumps(payload)


# -- answers ---------------------------------------------------------------------------------------------


def risk_blocks(level: str, reasons: Iterable[dict[str, Any]], case_ref: str | None) -> list[Block]:
    """The risk level, its reasons (with the clauses they cite) and the case, if one was opened."""
    lines = [f"*Risk level:* {level_label(level)}"]
    for reason in list(reasons)[:5]:
        cites = ", ".join(escape(str(c.get("locator", ""))) for c in reason.get("citations", []) if c.get("locator"))
        lines.append(f"• {escape(str(reason.get('text', '')))}" + (f" _({cites})_" if cites else ""))
    if case_ref:
        lines.append(f"Compliance case *{case_ref}* is open; you will be told here when it is decided.")
    return sections("\n".join(lines))


def answer_blocks(answer: Answer) -> list[Block]:
    """The answer, its risk, next steps, the first sources and the buttons, as message blocks."""
    blocks: list[Block] = []
    if answer.risk is not None:
        blocks += risk_blocks(answer.risk.level, answer.risk.reasons, answer.case_ref)
    blocks += sections(escape(answer.answer))
    if answer.next_steps:
        steps = "\n".join(f"{i}. {escape(step)}" for i, step in enumerate(answer.next_steps, 1))
        blocks += sections("*Next steps*\n" + steps)
    if answer.citations:
        blocks.append({"type": "divider"})
        blocks.append(section("*Sources*"))
        shown = answer.citations[:SOURCES_IN_MESSAGE]
        blocks += [section(source_line(c)) for c in shown]
        if len(answer.citations) > len(shown):
            blocks.append(context(f"{len(answer.citations) - len(shown)} more sources: press *Show all sources*."))
    ref = answer_ref(answer)
    buttons = [
        button(":thumbsup: Helpful", "dd_feedback_up", ref),
        button(":thumbsdown: Not helpful", "dd_feedback_down", ref),
    ]
    if not answer.refused and answer.case_ref is None:
        buttons.append(button("Escalate to compliance", "dd_escalate", ref, style="danger"))
    if answer.citations:
        buttons.append(button("Show all sources", "dd_sources", ref))
    blocks.append({"type": "actions", "block_id": "dd_answer_actions", "elements": buttons})
    return blocks


def fallback_text(text: str) -> str:
    """The notification text that accompanies blocks (also what screen readers announce).

    Escaped like the blocks: it carries user and document text, and Slack reads mrkdwn in it too, so a
    question's `<!channel>` or `<https://…|Approved>` must stay text, not a ping or a disguised link.
    """
    return escaped_clip(" ".join(text.split()), FALLBACK_TEXT_LIMIT)


def streaming_blocks(text: str) -> list[Block]:
    """A generated answer while it is still being written (verified sentences only), escaped."""
    shown = escaped_clip(text, SECTION_LIMIT - 20)
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": shown}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "_Writing the answer…_"}]},
    ]


def placeholder_blocks(what: str = "Looking into it") -> list[Block]:
    return [context(f":hourglass_flowing_sand: {what}…")]


def failure_blocks(reason: str) -> list[Block]:
    return sections(f":warning: {escape(reason)}")


def screening_blocks(screening: Screening, deal_text: str) -> list[Block]:
    """A /dd screen result: the deal as understood, the level, reasons with citations, next steps, case."""
    reasons = [r.model_dump() for r in screening.reasons]
    blocks = sections("*Deal screened*\n" + escape(clip(deal_text, 2500)))
    blocks += risk_blocks(screening.level, reasons, screening.case_ref)
    if screening.next_steps:
        steps = "\n".join(f"{i}. {escape(step)}" for i, step in enumerate(screening.next_steps, 1))
        blocks += sections("*Next steps*\n" + steps)
    cited = [c for r in screening.reasons for c in r.citations]
    if cited:
        blocks.append(section("*Sources*"))
        blocks += [section(source_line(c)) for c in cited[:10]]
    return blocks


# -- compliance ------------------------------------------------------------------------------------------


def case_card(case: Case, note: str | None = None) -> list[Block]:
    """The compliance channel's card for one case; decision buttons while it is undecided."""
    header = f"{case.ref} · {LEVEL_LABELS.get(case.level, case.level)}"
    blocks: list[Block] = [{"type": "header", "text": {"type": "plain_text", "text": clip(header, 150)}}]
    fields = [
        f"*Level*\n{level_label(case.level)}",
        f"*Status*\n{STATUS_LABELS.get(case.status, case.status)}",
        f"*Requester*\n<@{case.requester.user_id}>",
        f"*SLA due*\n{slack_date(case.sla_due_at)}",
        f"*Assignee*\n{f'<@{case.assignee}>' if case.assignee else 'nobody yet'}",
        f"*Organisation*\n{escape(case.org)}",
    ]
    blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]})
    facts = str(case.facts.get("text") or case.summary)
    blocks += sections("*Facts*\n" + escape(clip(facts, 2800)))
    reason_lines = []
    for reason in case.reasons[:8]:
        cites = "; ".join(
            f"{escape(str(c.get('locator', '')))} ({escape(str(c.get('title', '')))})"
            for c in reason.get("citations", [])
        )
        reason_lines.append(f"• {escape(str(reason.get('text', '')))}" + (f"\n    _{cites}_" if cites else ""))
    if reason_lines:
        blocks += sections("*Reasons*\n" + "\n".join(reason_lines))
    if note:
        blocks.append(context(note))
    if case.status in UNDECIDED:
        buttons = [button("Assign to me", "dd_case_assign", case.ref)]
        buttons.append(button("Approve", "dd_case_approve", case.ref, style="primary"))
        buttons.append(button("Reject", "dd_case_reject", case.ref, style="danger"))
        if case.status != "needs_info":
            buttons.append(button("Request info", "dd_case_needs_info", case.ref))
        blocks.append({"type": "actions", "block_id": "dd_case_actions", "elements": buttons})
    return blocks


def home_view(title: str, cases: Sequence[Case], now: datetime, empty: str) -> Block:
    """The App Home: a heading and one line per case (overdue ones flagged)."""
    blocks: list[Block] = [{"type": "header", "text": {"type": "plain_text", "text": title}}]
    if not cases:
        blocks.append(section(empty))
    for case in cases[: VIEW_BLOCK_LIMIT - 3]:
        late = " :rotating_light: *overdue*" if case.is_overdue(now) else ""
        blocks.append(
            section(
                f"*{case.ref}* · {level_label(case.level)} · {STATUS_LABELS.get(case.status, case.status)}\n"
                f"SLA due {slack_date(case.sla_due_at)}{late} · requester <@{case.requester.user_id}>"
                + (f" · assignee <@{case.assignee}>" if case.assignee else "")
                + f"\n{escape(clip(case.summary, 400))}"
            )
        )
    if len(cases) > VIEW_BLOCK_LIMIT - 3:
        blocks.append(context(f"{len(cases) - (VIEW_BLOCK_LIMIT - 3)} more; see `assistant cases list`."))
    blocks.append(context(f"Updated {slack_date(now)}"))
    return {"type": "home", "blocks": blocks}


# -- modals ----------------------------------------------------------------------------------------------


def _text_input(block_id: str, label: str, *, multiline: bool = False, optional: bool = True, hint: str = "") -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": {"type": "plain_text_input", "action_id": "value", "multiline": multiline, "max_length": 3000},
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _modal(callback_id: str, title: str, blocks: list[Block], metadata: dict[str, Any], submit: str | None) -> Block:
    view: Block = {
        "type": "modal",
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": title[:24]},
        "close": {"type": "plain_text", "text": "Cancel" if submit else "Close"},
        "private_metadata": json.dumps(metadata)[:3000],
        "blocks": blocks[:VIEW_BLOCK_LIMIT],
    }
    if submit:
        view["submit"] = {"type": "plain_text", "text": submit}
    return view


def screen_modal(metadata: dict[str, Any]) -> Block:
    """The /dd screen deal form."""
    blocks = [
        section("Describe the deal; every field is optional, but give at least one."),
        _text_input("product", "Product", hint="e.g. VMS with face analytics"),
        _text_input("end_user", "End user", hint="who will use it, e.g. city police"),
        _text_input("country", "Country", hint="name or ISO code, e.g. EG"),
        _text_input("partner", "Partner", hint="the reseller or integrator"),
        _text_input("notes", "Notes", multiline=True),
    ]
    return _modal("dd_screen", "Screen a deal", blocks, metadata, "Screen")


def feedback_modal(metadata: dict[str, Any]) -> Block:
    """'Not helpful': an optional reason (closing the modal still records the verdict)."""
    blocks = [_text_input("reason", "What was wrong or missing? (optional)", multiline=True)]
    view = _modal("dd_feedback_reason", "Not helpful", blocks, metadata, "Send")
    view["notify_on_close"] = True
    return view


def escalate_modal(question: str, metadata: dict[str, Any]) -> Block:
    """Confirm an escalation and add the facts compliance will need."""
    blocks = [
        section("Compliance will review this and answer in the thread.\n*Question*\n> " + escape(clip(question, 2500))),
        _text_input(
            "facts",
            "Facts to add (end user, country, product, partner…)",
            multiline=True,
            hint="Anything compliance should know that the question does not say.",
        ),
    ]
    return _modal("dd_escalate", "Escalate", blocks, metadata, "Escalate")


def decision_modal(ref: str, decision: str, metadata: dict[str, Any]) -> Block:
    """A compliance decision (approve, reject, request info) with its required comment."""
    title = DECISION_TITLES.get(decision, decision)
    blocks = [
        section(f"*{title}* {ref}. The comment goes on the audit trail and to the requester."),
        _text_input("comment", "Comment", multiline=True, optional=False),
    ]
    return _modal("dd_decide", title, blocks, metadata, title)


def sources_modal(citations: Sequence[Citation]) -> Block:
    """Every source of an answer, with its locator, link and quote."""
    blocks: list[Block] = [section(source_line(c, with_quote=True, quote_limit=2000)) for c in citations]
    if not blocks:
        blocks = [section("This answer has no sources.")]
    return _modal("dd_sources", "Sources", blocks, {}, None)


def modal_values(view: dict[str, Any]) -> dict[str, str]:
    """The submitted text of each input block of a view, by block id ('' when left empty)."""
    out: dict[str, str] = {}
    for block_id, actions in (view.get("state", {}).get("values", {}) or {}).items():
        for action in actions.values():
            out[block_id] = str(action.get("value") or "").strip()
    return out
