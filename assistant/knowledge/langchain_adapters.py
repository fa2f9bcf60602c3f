"""The embedder and the retriever as LangChain components, so users can plug them into their own chains.

`GuidanceEmbeddings` is a LangChain `Embeddings` over the product's embedding model (the same vectors the
index holds). `GuidanceRetriever` is a LangChain `BaseRetriever` over the product's hybrid retrieval, bound to
the audiences of one user: a partner's retriever never returns an internal passage, whatever the chain asks.
Get them from the service (`AssistantService.langchain_embeddings()`, `.langchain_retriever(user)`).
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .embeddings import Embedder
from .retrieval import Passage, Retriever


class GuidanceEmbeddings(Embeddings):
    """LangChain `Embeddings` backed by the product's `Embedder` (normalised vectors, offline model)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order."""
        if not texts:
            return []
        return [vector.tolist() for vector in self.embedder.embed_documents(texts)]

    def embed_query(self, text: str) -> list[float]:
        """The vector of a query."""
        return self.embedder.embed_query(text).tolist()


def passage_document(passage: Passage) -> Document:
    """A retrieved passage as a LangChain `Document`: its text, and its metadata with the scores."""
    metadata: dict[str, Any] = {
        **passage.metadata,
        "id": passage.id,
        "similarity": passage.similarity,
        "lexical_score": passage.lexical_score,
        "score": passage.score,
    }
    return Document(page_content=passage.text, metadata=metadata, id=passage.id)


class GuidanceRetriever(BaseRetriever):
    """LangChain retriever over the product's hybrid retrieval, limited to one reader's audiences."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Retriever
    audiences: tuple[str, ...]
    """The audiences the reader may see (a partner: public and partner); filtered inside every query."""
    k: int = 5

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        found = self.retriever.retrieve(query, self.audiences, k=self.k)
        return [passage_document(p) for p in found.passages]
