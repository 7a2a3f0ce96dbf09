"""Honest evaluation of a registered model (``radcurate evaluate``): AUCs with bootstrap 95% CIs.

Where the truth comes from:

* default: the project's own locked **test split**, against the project's labels (gold where
  readers decided, else silver) — or against one label source with ``--reference SOURCE``;
* ``--on OTHER``: every study of another project (one no model trained on, e.g. a second phantom
  cohort with its ``truth.csv`` imported by ``import-labels --source truth``), against its labels or
  ``--reference``. Ten test cases give unusable AUCs; a separate cohort is the honest check.

The JSON document (issue "Learning" §4)::

    {"model": id, "kind": k, "auc": {"macro": x, "findings": {name: x}, "ci": {name: [lo, hi]}},
     "zero_shot_auc": {"macro": y, "findings": {...}, "ci": {...}, "template_spread": {name: [lo, hi]}}}

``auc`` is the supervised AUC (a CLIP model's auxiliary finding head; a probe's one finding);
``zero_shot_auc`` is CLIP's prompt rule (for a probe: the newest CLIP model's, on the probe's
finding, beside it). Findings without both classes among the evaluated labels are left out of
every macro. A CLIP evaluation adds ``text_ceiling`` (the same prompt rule applied to the reports'
own text embeddings) and ``withheld`` (zero-shot AUC and CI of findings the run never saw).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from radcurate.engine.errors import InputError
from radcurate.engine.store import labels as label_store
from radcurate.engine.training import model_files, registry, splits
from radcurate.engine.training.dataset import label_table, target
from radcurate.engine.training.metrics import bootstrap_cis, macro, masked_aucs, summary
from radcurate.engine.training.scoring import predict_studies

if TYPE_CHECKING:
    from radcurate.engine.project import Project


def truth(
    project: Project, studies: list[str] | None, reference: str | None
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(studies, labels ``[N, K]``, mask) in ``project``'s vocabulary: its labels, or one source's."""
    findings = list(project.vocabulary)
    uncertain = project.settings.training.uncertain
    if reference is None:
        table = label_table(project, project.settings.training, with_evidence=False)
        if studies is not None:
            table = table.subset(studies)
        return list(table.study_ids), table.labels, table.mask
    label_store.get_source(project.db, reference)  # names the known sources if it is not one
    states = label_store.states_by_study(project.db, reference)
    keep = [s for s in (studies if studies is not None else project.study_ids()) if s in states]
    labels = np.zeros((len(keep), len(findings)), np.float32)
    mask = np.zeros_like(labels)
    for i, study_id in enumerate(keep):
        for k, finding in enumerate(findings):
            value = target(states[study_id].get(finding), uncertain)
            if value is not None:
                labels[i, k], mask[i, k] = value, 1.0
    return keep, labels, mask


def _columns(project: Project, findings: tuple[str, ...]) -> list[int]:
    names = list(project.vocabulary)
    missing = [f for f in findings if f not in names]
    if missing:
        raise InputError(f"the evaluated project has no finding {missing[0]!r} (the model's vocabulary differs)")
    return [names.index(f) for f in findings]


def evaluate(
    project: Project, model: int | str, *, on: Project | None = None, reference: str | None = None
) -> dict[str, Any]:
    """The evaluation document of the module docstring (``on``: another open project to evaluate on)."""
    loaded = model_files.load(project, model)
    target_project = project if on is None else on
    if target_project.settings.preprocessing != project.settings.preprocessing:
        raise InputError(
            "the evaluated project has other [preprocessing] settings than the model's", path=target_project.path
        )
    wanted = None
    if on is None:
        split = splits.ensure_split(project.db, project.settings.training)
        wanted = splits.studies_in(split, ["test"])
    studies, labels, mask = truth(target_project, wanted, reference)
    if not studies:
        raise InputError("no labelled study to evaluate on (empty test split, or the reference labels none)")
    columns = _columns(target_project, loaded.findings)
    labels, mask = labels[:, columns], mask[:, columns]
    kind = loaded.record.kind
    scorer = (lambda t, b: t.supervised_scores(b)) if kind == "clip" else None
    scored, scores = predict_studies(target_project, loaded, studies, scorer=scorer)
    index = [studies.index(s) for s in scored]
    labels, mask = labels[index], mask[index]
    findings = loaded.findings
    doc: dict[str, Any] = {
        "model": loaded.record.id,
        "version": loaded.record.version,
        "kind": kind,
        "evaluated_on": str(target_project.path),
        "reference": reference or "project labels",
        "split": "test" if on is None else "all",
        "studies": len(scored),
        "auc": summary(scores, labels, mask, findings),
    }
    if kind == "clip":
        doc |= _clip_parts(target_project, loaded, scored, labels, mask)
    if kind == "probe":
        doc["zero_shot_auc"] = _zero_shot_beside_probe(project, target_project, loaded, scored, labels, mask)
    return doc


def _clip_parts(
    project: Project, loaded: Any, studies: list[str], labels: np.ndarray, mask: np.ndarray
) -> dict[str, Any]:
    import torch

    from radcurate.engine.training.zero_shot import text_ceiling, zero_shot_probabilities

    task, findings = loaded.task, loaded.findings
    _, zero = predict_studies(project, loaded, studies)
    _, embeddings = predict_studies(project, loaded, studies, scorer=lambda t, b: t.model.encode_image(b["image"]))
    with torch.no_grad():
        prompts = task.prompts()
        scale = task.model.scale()
        per_template = zero_shot_probabilities(torch.from_numpy(embeddings), prompts, scale, "none").numpy()
    spread: dict[str, list[float]] = {}
    template_aucs = [masked_aucs(s, labels, mask, findings) for s in per_template]
    for f in findings:
        values = [a[f] for a in template_aucs if f in a]
        if values:
            spread[f] = [float(min(values)), float(max(values))]
    zero_doc = summary(zero, labels, mask, findings)
    zero_doc["template_spread"] = spread
    zero_doc["template_macros"] = [macro(a) for a in template_aucs]
    reports = [(project.report(s).text if project.report(s) else "") for s in studies]  # type: ignore[union-attr]
    with torch.no_grad():
        ceiling = text_ceiling(task.embed_texts, reports, prompts, scale).numpy()
    ceiling_aucs = masked_aucs(ceiling, labels, mask, findings)
    out: dict[str, Any] = {
        "zero_shot_auc": zero_doc,
        "text_ceiling": {"macro": macro(ceiling_aucs), "findings": ceiling_aucs},
    }
    withheld = [f for f in loaded.payload.get("withheld", []) if f in zero_doc["findings"]]
    if withheld:
        cis = bootstrap_cis(zero, labels, mask, findings)
        out["withheld"] = {f: {"zero_shot_auc": zero_doc["findings"][f], "ci": list(cis.get(f, ()))} for f in withheld}
    return out


def _zero_shot_beside_probe(
    project: Project, target_project: Project, probe: Any, studies: list[str], labels: np.ndarray, mask: np.ndarray
) -> dict[str, Any] | None:
    """The newest CLIP model's zero-shot AUC on the probe's finding, on the same studies."""
    clips = registry.models(project.db, "clip")
    if not clips:
        return None
    clip = model_files.load(project, clips[0].id)
    finding = probe.findings[0]
    if finding not in clip.findings:
        return None
    _, zero = predict_studies(target_project, clip, studies)
    column = zero[:, [clip.findings.index(finding)]]
    doc = summary(column, labels, mask, (finding,))
    doc["model"] = clip.record.version
    return doc
