"""A tiny supervised model trained end to end: it learns, is registered, scores every study, can be cancelled."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from radcurate.engine.project import Project
from radcurate.engine.training import registry, splits
from radcurate.engine.training.dataset import label_table
from radcurate.engine.training.metrics import macro, masked_aucs
from radcurate.engine.training.runs import TrainRequest, run_dir, train

pytest.importorskip("monai")


def _scores(project: Project, model_id: int) -> dict[tuple[str, str], float]:
    rows = project.db.execute("SELECT study_id, finding, score FROM scores WHERE model_id = ?", [model_id])
    return {(s, f): v for s, f, v in rows.fetchall()}


def test_supervised_learns_registers_and_scores_every_study(cohort_dir: Path) -> None:
    with Project.open(cohort_dir) as project:
        model = train(project, TrainRequest(epochs=4))
        assert model is not None and model.kind == "supervised" and model.start == "scratch"
        history = model.metrics["history"]
        assert len(history) == 4 and history[-1]["loss"] < history[0]["loss"]  # the loss falls
        assert all("val_auc" in h and h["seconds"] > 0 for h in history)

        # In-sample: the training split's labels are learned above chance (macro over 18 findings).
        split = splits.ensure_split(project.db, project.settings.training)
        table = label_table(project, project.settings.training, with_evidence=False)
        train_rows = table.subset(splits.studies_in(split, ["train"]))
        scores = _scores(project, model.id)
        assert len(scores) == len(project.study_ids()) * 18  # every study scored, every finding
        predicted = np.array([[scores[(s, f)] for f in table.findings] for s in train_rows.study_ids])
        aucs = masked_aucs(predicted, train_rows.labels, train_rows.mask, table.findings)
        assert macro(aucs) > 0.6, aucs
        assert project.scores(project.study_ids()[0]).keys() == set(table.findings)

        # Registry: files with sha256, snapshot, settings; the checkpoint folder is cleaned up.
        stored = registry.get(project.db, model.version)
        assert stored == registry.get(project.db, str(model.id))
        (entry,) = stored.files
        assert entry["path"] == "model.pt" and len(entry["sha256"]) == 64
        assert len(stored.label_snapshot) == 64 and stored.settings["training"]["widen_factor"] == 0.25
        assert "macro" in stored.metrics["test_auc"] and stored.job_id is not None
        assert project.job(stored.job_id).status == "done"
        assert not run_dir(project, stored.job_id).exists()

        # Retraining after a decision: a new snapshot, and the change on the same locked test split.
        study = project.study_ids()[0]
        project.decide(study, "Cardiomegaly", "present", reader="ann")
        again = train(project, TrainRequest(epochs=1))
        assert again is not None and again.label_snapshot != model.label_snapshot
        assert again.metrics["previous"]["model"] == model.version
        assert "test_macro_change" in again.metrics["previous"]

    result = CliRunner().invoke(_app(), ["models", str(cohort_dir), "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [m["id"] for m in listed] == [again.id, model.id]
    assert {"id", "kind", "parent"} <= set(listed[0]) and listed[0]["parent"] is None


def test_cancel_stops_at_a_step_keeps_the_epoch_checkpoint_and_resume_finishes(cohort_dir: Path) -> None:
    with Project.open(cohort_dir) as project:
        seen: list[int] = []

        def cancel_in_epoch_two(done: int, total: int, message: str) -> None:
            seen.append(done)
            if message.startswith("epoch 2/"):
                (job,) = [j for j in project.jobs(kind="train") if j.status == "running"]
                project.cancel_job(job.id)

        assert train(project, TrainRequest(epochs=3), on_progress=cancel_in_epoch_two) is None
        (job,) = project.jobs(kind="train")
        assert job.status == "cancelled" and (run_dir(project, job.id) / "checkpoint.pt").exists()
        model = train(project, TrainRequest(epochs=3), resume=True)
        assert model is not None and model.job_id == job.id and model.metrics["resumed_from_epoch"] == 1
        assert [h["epoch"] for h in model.metrics["history"]] == [1, 2, 3]
        assert project.job(job.id).status == "done"


def test_bad_requests_are_one_line_errors(cohort_dir: Path) -> None:
    runner = CliRunner()
    for args, message in [
        (["--kind", "clip", "--lock"], "--lock needs --init"),
        (["--kind", "probe"], "--finding"),
        (["--resume"], "nothing to resume"),
        (["--kind", "gan"], "unknown kind"),
    ]:
        result = runner.invoke(_app(), ["train", str(cohort_dir), *args])
        assert result.exit_code != 0 and message in str(result.exception), (args, result.exception)


def _app():  # noqa: ANN202
    from radcurate.engine.cli import learning_commands  # noqa: F401  (registers train/models/evaluate)
    from radcurate.engine.cli.app import app

    return app
