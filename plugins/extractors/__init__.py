"""Built-in report extractors: rule-based (offline default) and LLM (OpenAI-compatible)."""
