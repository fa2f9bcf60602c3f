"""Policy clauses as citations: the passage a locator ("RAS 6.2", "UNGP Principle 17") names, quoted, and
only from the audiences a reader may see. Used for the reasons of a triage and the cases it opens."""

from __future__ import annotations

from ..knowledge.lexical import LexicalIndex
from ..knowledge.store import StoredChunk, VectorStore
from ..knowledge.textproc import sentence_spans
from .models import Citation


class LocatorIndex:
    """Finds the passage behind a locator such as 'RAS 6.2', within the audiences a user may read.

    It asks each time rather than holding a table of every locator (a reading process keeps nothing that
    grows with the corpus): the lexical index finds the ids, filtered by audience in its query, and the store
    returns those passages by id.
    """

    def __init__(self, store: VectorStore, lexical: LexicalIndex) -> None:
        self.store = store
        self.lexical = lexical

    def cite(self, locators: list[str], audiences: tuple[str, ...], start: int = 1) -> list[Citation]:
        """Citations for the locators the user may read; the quote is the passage's opening sentence."""
        first: dict[str, StoredChunk] = {}
        ids = self.lexical.locator_ids(sorted(set(locators)), audiences)
        for chunk, _ in self.store.fetch(ids, vectors=False).values():
            if chunk.metadata.get("audience") not in audiences:
                continue  # the store is the record: a row relabelled since the lexical sync is not cited
            locator = str(chunk.metadata.get("locator", ""))
            held = first.get(locator)
            if held is None or _order(chunk) < _order(held):
                first[locator] = chunk
        out: list[Citation] = []
        for locator in locators:
            if locator not in first:
                continue
            chunk = first[locator]
            spans = list(sentence_spans(chunk.text))
            quote = chunk.text[spans[0][0] : spans[0][1]] if spans else chunk.text[:300]
            # The locator the policy cites, even when the chunk's own locator carries a page.
            citation = Citation.of_chunk(start + len(out), chunk.id, chunk.metadata, quote)
            out.append(citation.model_copy(update={"locator": locator}))
        return out


def _order(chunk: StoredChunk) -> tuple[int, str]:
    # The first passage of a section opens with its rule; ties (the same seq in two files) go by id.
    return int(chunk.metadata.get("seq", 0)), chunk.id
