"""Per-finding ROC AUC over labelled cells only, its macro mean, and percentile bootstrap 95% CIs.

A finding enters an AUC (and the macro) only where its labelled cells hold both classes; masked
cells (uncertain, unresolved, withheld, unlabelled) are left out, never counted as negatives.
The bootstrap resamples studies with replacement (seeded, so a report can be reproduced) and
recomputes each finding's AUC on the resample's labelled cells; resamples where a finding lost a
class are skipped for that finding. Ten test cases give intervals as wide as the unit interval —
the CI is what says so.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BOOTSTRAP_SAMPLES = 1000


def _auc(truth: np.ndarray, score: np.ndarray) -> float:
    """Mann–Whitney AUC with ties counted half (what scikit-learn's roc_auc_score gives)."""
    from scipy.stats import rankdata

    ranks = rankdata(score)
    pos = truth > 0.5
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def masked_aucs(
    scores: np.ndarray, labels: np.ndarray, mask: np.ndarray | None, findings: Sequence[str]
) -> dict[str, float]:
    """``{finding: AUC}`` over the unmasked cells of ``[N, K]`` arrays (one-class findings left out)."""
    out = {}
    for k, name in enumerate(findings):
        keep = np.ones(len(labels), bool) if mask is None else mask[:, k] > 0
        truth = labels[keep, k] > 0.5
        if 0 < truth.sum() < len(truth):
            out[name] = _auc(truth, scores[keep, k])
    return out


def macro(aucs: dict[str, float], among: Sequence[str] | None = None) -> float:
    """Mean AUC over ``among`` (default all) that could be computed; NaN when none."""
    values = [v for f, v in aucs.items() if among is None or f in among]
    return float(np.mean(values)) if values else float("nan")


def _bootstrap_draws(
    scores: np.ndarray, labels: np.ndarray, mask: np.ndarray | None, findings: Sequence[str], samples: int, seed: int
) -> tuple[dict[str, list[float]], list[float]]:
    """Each finding's AUC, and the macro AUC, on ``samples`` study resamples (one pass for both)."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    draws: dict[str, list[float]] = {f: [] for f in findings}
    macros: list[float] = []
    for _ in range(samples):
        rows = rng.integers(0, n, n)
        aucs = masked_aucs(scores[rows], labels[rows], None if mask is None else mask[rows], findings)
        for name, value in aucs.items():
            draws[name].append(value)
        if aucs:
            macros.append(macro(aucs))
    return draws, macros


def _interval(values: list[float]) -> tuple[float, float]:
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def _finding_intervals(draws: dict[str, list[float]]) -> dict[str, tuple[float, float]]:
    """Each finding's interval, where at least 10 resamples kept both of its classes."""
    return {f: _interval(v) for f, v in draws.items() if len(v) >= 10}


def bootstrap_cis(
    scores: np.ndarray,
    labels: np.ndarray,
    mask: np.ndarray | None,
    findings: Sequence[str],
    *,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> dict[str, tuple[float, float]]:
    """Percentile 95% interval of each finding's AUC over ``samples`` study resamples."""
    draws, _ = _bootstrap_draws(scores, labels, mask, findings, samples, seed)
    return _finding_intervals(draws)


def summary(
    scores: np.ndarray, labels: np.ndarray, mask: np.ndarray | None, findings: Sequence[str], *, seed: int = 0
) -> dict[str, object]:
    """The ``auc`` object of ``evaluate --json``: ``{"macro", "findings", "ci", "macro_ci"}``."""
    aucs = masked_aucs(scores, labels, mask, findings)
    draws, macros = _bootstrap_draws(scores, labels, mask, findings, BOOTSTRAP_SAMPLES, seed)
    cis = _finding_intervals(draws)
    doc: dict[str, object] = {
        "macro": macro(aucs),
        "findings": aucs,
        "ci": {f: list(cis[f]) for f in aucs if f in cis},
    }
    if len(macros) >= 10:  # the macro's own interval: what a small test split can and cannot tell apart
        doc["macro_ci"] = list(_interval(macros))
    return doc
