"""Scores from a bundle: the fixed findings and free-text questions, in numpy.

CLIP bundles: the image graph gives an L2-normalised embedding; each finding's score is the
training rule (``sigmoid(scale · (cos(image, positive) − cos(image, negative)))`` over the
precomputed prompt embeddings, ensembled as the manifest says), so a bundle scores exactly what
``evaluate`` measured. A free-text question becomes a positive/negative sentence pair, embedded
once by the text graph:

* ``"pneumothorax"`` (a finding name, no sentence end): every template of the bundle, like a fixed
  finding;
* ``"There is a pneumothorax."`` / ``"There are calcified nodules."``: that sentence against its
  denial (``"There is no pneumothorax."``);
* ``"Pneumothorax is present. | No pneumothorax."``: an explicit pair.

Supervised bundles score ``sigmoid(logits)`` and answer no free-text question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from radcurate.engine.errors import InputError
from radcurate.engine.triage.bundle import Bundle

_THERE_IS = re.compile(r"^\s*there\s+(is|are)\s+(?:(?:a|an|some|any)\s+)?(.+?)\s*[.!?]?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Question:
    """A free-text question as typed (the column name) and its sentence pairs."""

    text: str
    pairs: tuple[tuple[str, str], ...]


def _pair(template: Sequence[str], finding: str) -> tuple[str, str]:
    low = finding[:1].lower() + finding[1:]
    cap = finding[:1].upper() + finding[1:]
    return template[0].format(finding=low, Finding=cap), template[1].format(finding=low, Finding=cap)


def parse_question(text: str, templates: Sequence[Sequence[str]]) -> Question:
    """The sentence pairs a free-text question is scored with (module docstring)."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InputError("an empty --query", field="query")
    if "|" in cleaned:
        parts = [p.strip() for p in cleaned.split("|")]
        if len(parts) != 2 or not all(parts):
            raise InputError(f"a query pair is 'positive | negative', got {text!r}", field="query")
        return Question(text, ((parts[0], parts[1]),))
    match = _THERE_IS.match(cleaned)
    if match:
        verb, what = match.group(1).lower(), match.group(2)
        positive = cleaned if cleaned[-1] in ".!?" else cleaned + "."
        return Question(text, ((positive, f"There {verb} no {what}."),))
    if cleaned[-1] in ".!?":
        finding = cleaned.rstrip(".!? ")
        return Question(text, ((cleaned, f"There is no {finding[:1].lower() + finding[1:]}."),))
    return Question(text, tuple(_pair(t, cleaned) for t in templates))


def zero_shot(embeddings: np.ndarray, prompts: np.ndarray, scale: float, ensemble: str) -> np.ndarray:
    """``[B, D]`` image embeddings × ``[T, K, 2, D]`` prompts → ``[B, K]`` scores in [0, 1]."""
    embeddings = embeddings.astype(np.float64)
    prompts = prompts.astype(np.float64)
    if ensemble == "embedding":
        mean = prompts.mean(0, keepdims=True)
        prompts = mean / np.maximum(np.linalg.norm(mean, axis=-1, keepdims=True), 1e-12)
    elif ensemble != "probability":
        raise InputError(f"unknown prompt ensemble {ensemble!r} in the manifest", field="zero_shot.ensemble")
    difference = prompts[:, :, 0, :] - prompts[:, :, 1, :]
    logits = scale * np.einsum("bd,tkd->tbk", embeddings, difference)
    return (1.0 / (1.0 + np.exp(-logits))).mean(0)


class Scorer:
    """Scores preprocessed inputs ``[B, C, X, Y, Z]`` with a bundle: findings first, then questions."""

    def __init__(self, bundle: Bundle, queries: Sequence[str] = ()):
        self.bundle = bundle
        self.columns = list(bundle.findings)
        self.questions: list[Question] = []
        if bundle.kind == "supervised":
            if queries:
                raise InputError(
                    "a supervised bundle scores its fixed findings only; --query needs a CLIP bundle", field="query"
                )
            return
        spec = bundle.manifest["zero_shot"]
        self.scale = float(spec["scale"])
        self.ensemble = str(spec["ensemble"])
        self.prompts = [bundle.prompt_embeddings()]  # one [T, K, 2, D] block for the findings
        for query in queries:
            if query in self.columns:
                raise InputError(f"--query {query!r} repeats a column already scored", field="query")
            question = parse_question(query, spec["templates"])
            self.questions.append(question)
            self.columns.append(query)
        for question in self.questions:
            texts = [s for pair in question.pairs for s in pair]
            ids, mask = bundle.tokenize(texts)
            text = bundle.session("text")
            embedded = text.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            self.prompts.append(embedded.reshape(len(question.pairs), 1, 2, -1))

    def score(self, inputs: np.ndarray) -> np.ndarray:
        """``[B, C, X, Y, Z]`` float32 → ``[B, len(columns)]`` probabilities."""
        session = self.bundle.session("image")
        out = session.run(None, {self.bundle.manifest["graphs"]["image"]["input"]: inputs})[0]
        if self.bundle.kind == "supervised":
            return 1.0 / (1.0 + np.exp(-out.astype(np.float64)))
        return np.concatenate([zero_shot(out, block, self.scale, self.ensemble) for block in self.prompts], axis=1)
