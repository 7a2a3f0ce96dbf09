"""The LLM extractor: any OpenAI-compatible endpoint, structured output, evidence checked against the report."""
