"""Label conventions as a setting: ``[extraction] conventions`` and ``radcurate extract --conventions``.

Both extractors follow it: the rules extractor reads its conventions file, the LLM prompt states
the same conventions in words. Labels made under different conventions land in different label
sources with different versions, so they are never confused.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from radcurate.engine.errors import InputError
from radcurate.engine.extraction.runner import make_extractor
from radcurate.engine.project import Project
from radcurate.engine.settings import load
from radcurate.engine.vocabulary import Vocabulary
from radcurate.plugins.extractors.llm import prompt as llm_prompt
from radcurate.plugins.extractors.llm.extractor import LLMExtractor
from tests.conftest import add_studies

REPORT = "Mediastinal lymph nodes are within normal limits. The nodule was not followed up."


def test_the_llm_prompt_states_the_conventions() -> None:
    vocabulary = Vocabulary.default()
    clinical, ctrate = (llm_prompt.instructions(vocabulary, c) for c in ("clinical", "ctrate"))
    assert "Label conventions (clinical)" in clinical and "Label conventions (ctrate)" in ctrate
    assert "normal size" in clinical and "reported as seen counts as present" in ctrate
    assert llm_prompt.prompt_hash(vocabulary, "clinical") != llm_prompt.prompt_hash(vocabulary, "ctrate")
    body = llm_prompt.request_body("m", REPORT, vocabulary, "ctrate")
    assert body["messages"][0]["content"] == ctrate and body["messages"][1]["content"] == REPORT


def test_the_llm_extractor_names_its_conventions() -> None:
    clinical, ctrate = LLMExtractor(model="m"), LLMExtractor(model="m", conventions="ctrate")
    assert (clinical.source_name, ctrate.source_name) == ("llm:m", "llm:m:ctrate")
    vocabulary = Vocabulary.default()
    assert clinical.prompt_hash(vocabulary) != ctrate.prompt_hash(vocabulary)
    assert ctrate.details(vocabulary)["conventions"] == "ctrate"


def test_the_setting_reaches_both_extractors(project: Project) -> None:
    settings_file = Path(project.path) / "radcurate.toml"
    text = settings_file.read_text()
    assert 'conventions = "clinical"' in text  # init writes the setting with its documentation
    settings_file.write_text(text.replace('conventions = "clinical"', 'conventions = "ctrate"'))
    with Project.open(project.path) as reopened:
        assert reopened.settings.extraction.conventions == "ctrate"
        assert make_extractor(reopened, "rules").source_name == "rules:ctrate"
        assert make_extractor(reopened, "llm", model="m").conventions == "ctrate"
        assert make_extractor(reopened, "rules", conventions="clinical").source_name == "rules"


def test_an_unknown_conventions_setting_is_refused_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "radcurate.toml"
    path.write_text('[extraction]\nconventions = "chexpert"\n')
    with pytest.raises(InputError) as caught:
        load(path)
    assert caught.value.field == "extraction.conventions" and "clinical, ctrate" in caught.value.reason


@pytest.mark.slow
def test_extract_conventions_labels_into_its_own_source(project: Project) -> None:
    add_studies(project, {"s1": REPORT})
    project.close()
    run = [sys.executable, "-m", "radcurate.engine.cli", "extract", str(project.path), "--json"]
    for extra in ([], ["--conventions", "ctrate"]):
        done = subprocess.run([*run, *extra], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["labelled"] == 1
    bad = subprocess.run([*run, "--conventions", "chexpert"], capture_output=True, text=True)
    assert bad.returncode != 0 and "clinical, ctrate" in bad.stderr and "Traceback" not in bad.stderr
    with Project.open(project.path) as reopened:
        sources = {s.name: s for s in reopened.label_sources()}
        assert sources["rules"].version == "1.1.0+clinical" and sources["rules:ctrate"].version == "1.1.0+ctrate"
        assert sources["rules:ctrate"].details["conventions"] == "ctrate"
        states = {
            src: {stored.label.finding: stored.label.state for stored in reopened.labels(source=src, study_id="s1")}
            for src in ("rules", "rules:ctrate")
        }
    assert states["rules"]["Lymphadenopathy"] == "absent" and states["rules:ctrate"]["Lymphadenopathy"] == "present"
    assert states["rules"]["Lung nodule"] == "present" and states["rules:ctrate"]["Lung nodule"] == "absent"
