"""Knowledge: loading guidance files, chunking them into citable passages, indexing and retrieval."""
