"""Finding-level text pairs for CLIP: for each labelled (study, finding), a sentence stating the finding
and one denying it, both real report sentences of the training split wherever there are some.

Why: a frozen MiniLM puts "There is pleural effusion." and "There is no pleural effusion." at
cosine 0.73 (more alike than two different findings), so report-level InfoNCE learns which findings
a report *talks about* more than whether it says they are there; zero-shot scoring then caps at the
text side's own 0.70–0.73 macro AUC. Training the projections on polarity pairs, with the report's
own sentence on one side and a real sentence of the opposite polarity about the same finding on the
other (a hard negative), teaches the text projection to separate the two along the image embedding.

Everything here comes from the training split: its reports' sentences as the extractor quoted them
(the ``evidence`` of a silver label) and its labels. A withheld finding has no labels, so it gets no
pairs and stays a true open-set test. ``template_share`` mixes in generic template phrasings
(:mod:`~radcurate.engine.training.prompts`), never evaluation data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from radcurate.engine.training.prompts import DEFAULT_TEMPLATES, PromptTemplate


class PolarityBank:
    """Distinct training sentences per (finding, polarity), and the pairs drawn from them.

    Parameters
    ----------
    findings
        Vocabulary order.
    templates
        Generic phrasings used where a finding has no real sentence of a polarity, and with
        probability ``template_share`` on each side of a pair.
    template_share
        Share of pair sides replaced by a template phrasing (0: real sentences only, where any).
    """

    def __init__(
        self,
        findings: Sequence[str],
        *,
        templates: Sequence[PromptTemplate] = DEFAULT_TEMPLATES[:1],
        template_share: float = 0.0,
    ):
        self.findings = tuple(findings)
        self.templates = tuple(templates)
        self.template_share = float(template_share)
        self._sentences: list[list[list[str]]] = [[[], []] for _ in self.findings]  # [finding][polarity]
        self._seen: set[tuple[int, int, str]] = set()

    def add(self, finding: int, polarity: int, sentence: str | None) -> None:
        """Record a sentence that states (``polarity=1``) or denies (``0``) ``findings[finding]``."""
        if not sentence:
            return
        key = (finding, int(polarity), sentence)
        if key not in self._seen:
            self._seen.add(key)
            self._sentences[finding][int(polarity)].append(sentence)

    def add_rows(
        self, labels: np.ndarray, mask: np.ndarray, evidence: Sequence[Sequence[str | None]] | None
    ) -> PolarityBank:
        """Add every labelled cell's evidence sentence (``labels``/``mask`` ``[N, K]``); returns self."""
        if evidence is None:
            return self
        for row, sentences in enumerate(evidence):
            for k, sentence in enumerate(sentences):
                if mask[row, k] > 0 and sentence:
                    self.add(k, int(labels[row, k] > 0.5), sentence)
        return self

    def counts(self) -> dict[str, tuple[int, int]]:
        """Distinct (denying, stating) sentences per finding."""
        return {f: (len(s[0]), len(s[1])) for f, s in zip(self.findings, self._sentences, strict=True)}

    def texts(self) -> list[str]:
        """Every sentence the bank can draw (to warm a frozen-embedding cache)."""
        out = [s for per in self._sentences for side in per for s in side]
        out += [t for f in self.findings for template in self.templates for t in template.pair(f)]
        return list(dict.fromkeys(out))

    def _draw(self, k: int, polarity: int, rng: np.random.Generator) -> str:
        pool = self._sentences[k][polarity]
        if not pool or rng.random() < self.template_share:
            template = self.templates[int(rng.integers(len(self.templates)))]
            return template.pair(self.findings[k])[0 if polarity else 1]
        return pool[int(rng.integers(len(pool)))]

    def pairs(
        self,
        labels: np.ndarray,
        mask: np.ndarray,
        evidence: Sequence[Sequence[str | None]] | None,
        rng: np.random.Generator,
    ) -> tuple[list[str], list[str]]:
        """(stating, denying) sentences for every cell of a ``[B, K]`` batch, row-major, ``B·K`` each.

        The side of the cell's own label is its evidence sentence where there is one (the report's
        own words), else a drawn sentence of that polarity; the other side is always drawn (a hard
        negative: the same finding, the opposite polarity). Masked cells get placeholder pairs of
        the template (the loss ignores them).
        """
        stating: list[str] = []
        denying: list[str] = []
        rows, width = labels.shape
        for i in range(rows):
            for k in range(width):
                if mask[i, k] <= 0:
                    pos, neg = self.templates[0].pair(self.findings[k])
                else:
                    own = evidence[i][k] if evidence is not None else None
                    polarity = int(labels[i, k] > 0.5)
                    if not own or rng.random() < self.template_share:
                        own = self._draw(k, polarity, rng)
                    other = self._draw(k, 1 - polarity, rng)
                    pos, neg = (own, other) if polarity else (other, own)
                stating.append(pos)
                denying.append(neg)
        return stating, denying

    def opposite(self, k: int, polarity: int, rng: np.random.Generator) -> str:
        """A sentence of the other polarity about finding ``k`` (a hard negative for a sentence pair)."""
        return self._draw(k, 1 - polarity, rng)
