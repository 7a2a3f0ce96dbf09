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
    rng = np.random.default_rng(seed)
    n = len(labels)
    draws: dict[str, list[float]] = {f: [] for f in findings}
    for _ in range(samples):
        rows = rng.integers(0, n, n)
        for name, value in masked_aucs(
            scores[rows], labels[rows], None if mask is None else mask[rows], findings
        ).items():
            draws[name].append(value)
    return {f: (float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))) for f, v in draws.items() if len(v) >= 10}


def summary(
    scores: np.ndarray, labels: np.ndarray, mask: np.ndarray | None, findings: Sequence[str], *, seed: int = 0
) -> dict[str, object]:
    """The ``auc`` object of ``evaluate --json``: ``{"macro", "findings", "ci"}``."""
    aucs = masked_aucs(scores, labels, mask, findings)
    cis = bootstrap_cis(scores, labels, mask, findings, seed=seed)
    return {
        "macro": macro(aucs),
        "findings": aucs,
        "ci": {f: list(cis[f]) for f in aucs if f in cis},
    }
