"""The embedder and the retriever as LangChain components, used the way a user's own chain would use them."""

from __future__ import annotations

import numpy as np
from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda

from assistant.identity import User
from assistant.service import AssistantService


def test_embeddings_give_the_vectors_the_index_is_built_with(corpus_service: AssistantService) -> None:
    embeddings = corpus_service.langchain_embeddings()
    text = "Which human rights clauses must a reseller sign?"
    query = embeddings.embed_query(text)
    documents = embeddings.embed_documents([text, "an unrelated sentence about lunch"])
    assert np.allclose(query, corpus_service.embedder.embed_query(text), atol=1e-5)
    assert len(documents) == 2 and np.allclose(documents[0], query, atol=1e-4)
    assert embeddings.embed_documents([]) == []


def test_retriever_in_a_chain_finds_the_clause_with_its_locator(corpus_service: AssistantService) -> None:
    retriever = corpus_service.langchain_retriever(User.for_audience("internal"), k=5)
    # a user's own chain: retrieve, then format the context with the locators
    chain = retriever | RunnableLambda(lambda docs: [d.metadata["locator"] for d in docs])
    locators = chain.invoke("What does UNGP Principle 19 say about ending a business relationship?")
    assert len(locators) == 5
    assert any("Principle 19" in locator for locator in locators)


def test_a_partner_retriever_never_returns_internal_guidance(corpus_service: AssistantService) -> None:
    staff = corpus_service.langchain_retriever(User.for_audience("internal"), k=8)
    partner = corpus_service.langchain_retriever(User.for_audience("partner"), k=8)
    question = "How does compliance score the severity of a deal and who approves prohibited deals?"
    staff_docs: list[Document] = staff.invoke(question)
    partner_docs: list[Document] = partner.invoke(question)
    assert any(d.metadata["audience"] == "internal" for d in staff_docs)  # the question reaches internal text
    assert partner_docs and all(d.metadata["audience"] in ("public", "partner") for d in partner_docs)
