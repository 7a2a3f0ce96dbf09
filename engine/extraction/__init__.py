"""Report → silver labels: running extractors as jobs, the LLM cache, agreement with references."""
