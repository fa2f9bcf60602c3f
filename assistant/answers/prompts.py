"""Versioned prompt files for LLM-written answers, loaded at run time from prompts/.

Each prompt is a Markdown file `NAME.VERSION.md` (e.g. `system.v1.md`) that starts with a header

    ---
    prompt: system
    version: v1
    ---

which must agree with the file name, so a copied-and-edited file cannot silently keep an old version. A
prompt set is the highest version for which every required prompt exists (or the one asked for); its
version is what answers and cases record.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..knowledge.retrieval import Passage

REQUIRED = ("system", "answer")
_FILE = re.compile(r"^(?P<name>[a-z_]+)\.(?P<version>v\d+)\.md$")
_HEADER = re.compile(r"\A---\s*\n(?P<body>.*?)\n---\s*\n", re.S)
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def default_prompts_dir() -> Path:
    """The repository's prompts/ in a checkout, else a packaged copy beside the code."""
    checkout = Path(__file__).resolve().parents[2] / "prompts"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parents[1] / "prompts_data"


@dataclass(frozen=True)
class PromptSet:
    """The system prompt and the answer template of one version."""

    version: str
    system: str
    answer_template: str

    def render_answer(self, question: str, passages: Sequence[Passage]) -> str:
        """The user message: the question and numbered, delimited passages put into the answer template."""
        values = {"question": _escape(question), "passages": format_passages(passages)}

        def fill(match: re.Match[str]) -> str:
            return values.get(match.group(1), match.group(0))

        # One pass: text put in by a placeholder is never scanned for further placeholders.
        return _PLACEHOLDER.sub(fill, self.answer_template)


def format_passages(passages: Sequence[Passage]) -> str:
    """Passages as `<passage n=".." locator=".." title="..">text</passage>`, numbered from 1."""
    blocks = []
    for n, passage in enumerate(passages, 1):
        locator = html.escape(passage.locator, quote=True)
        title = html.escape(str(passage.metadata.get("title", "")), quote=True)
        blocks.append(f'<passage n="{n}" locator="{locator}" title="{title}">\n{_escape(passage.text)}\n</passage>')
    return "\n".join(blocks)


def _escape(text: str) -> str:
    # Only the delimiters matter: a document must not be able to close its own passage or the question.
    return re.sub(r"<(/?)(passages?|question)\b", r"&lt;\1\2", text.strip(), flags=re.I)


def _parse(path: Path) -> tuple[str, str, str]:
    """(name, version, body) of one prompt file; ConfigError when the header is missing or disagrees."""
    match = _FILE.match(path.name)
    if match is None:
        raise ConfigError(f"{path}: prompt files are named NAME.vN.md")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the prompt ({exc})") from exc
    header = _HEADER.match(text)
    if header is None:
        raise ConfigError(f"{path}: missing the '---' header with 'prompt:' and 'version:'")
    fields = dict(
        (key.strip().lower(), value.strip())
        for key, _, value in (line.partition(":") for line in header.group("body").splitlines())
        if value
    )
    for key, expected in (("prompt", match.group("name")), ("version", match.group("version"))):
        if fields.get(key) != expected:
            raise ConfigError(f"{path}: header says {key}: {fields.get(key)!r}, the file name says {expected!r}")
    body = text[header.end() :].strip()
    if not body:
        raise ConfigError(f"{path}: the prompt is empty")
    return match.group("name"), match.group("version"), body


def available_versions(folder: Path) -> list[str]:
    """Versions for which every required prompt file exists, oldest first."""
    found: dict[str, set[str]] = {}
    for path in folder.glob("*.md"):
        match = _FILE.match(path.name)
        if match:
            found.setdefault(match.group("version"), set()).add(match.group("name"))
    complete = [v for v, names in found.items() if set(REQUIRED) <= names]
    return sorted(complete, key=lambda v: int(v[1:]))


def load_prompt(name: str, folder: Path | None = None) -> tuple[str, str]:
    """(version, body) of the highest version of one single prompt, e.g. "deal_signals"."""
    folder = folder or default_prompts_dir()
    found = []
    for path in folder.glob(f"{name}.v*.md") if folder.is_dir() else []:
        match = _FILE.match(path.name)
        if match and match.group("name") == name:
            found.append((int(match.group("version")[1:]), path))
    if not found:
        raise ConfigError(f"{folder}: no {name}.vN.md prompt")
    _, version, body = _parse(max(found)[1])
    return version, body


def load_prompts(folder: Path | None = None, version: str | None = None) -> PromptSet:
    """The prompt set of `version` (default: the highest complete one) from `folder` (default: prompts/)."""
    folder = folder or default_prompts_dir()
    versions = available_versions(folder) if folder.is_dir() else []
    if not versions:
        raise ConfigError(f"{folder}: no complete prompt set ({', '.join(f'{n}.vN.md' for n in REQUIRED)})")
    chosen = version or versions[-1]
    if chosen not in versions:
        raise ConfigError(f"{folder}: prompt version {chosen!r} not found (have {', '.join(versions)})")
    bodies = {}
    for name in REQUIRED:
        _, _, bodies[name] = _parse(folder / f"{name}.{chosen}.md")
    if "{{passages}}" not in bodies["answer"] or "{{question}}" not in bodies["answer"]:
        raise ConfigError(f"{folder / f'answer.{chosen}.md'}: the template needs {{{{question}}}} and {{{{passages}}}}")
    return PromptSet(version=chosen, system=bodies["system"], answer_template=bodies["answer"])
