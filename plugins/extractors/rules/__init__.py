"""The rule-based extractor (offline default): sections, sentences, negation/uncertainty scopes, synonyms."""
