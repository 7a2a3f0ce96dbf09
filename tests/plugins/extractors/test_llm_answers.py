"""The LLM extractor's answers, offline: validation, evidence matching, prompt hash and cache key."""

from __future__ import annotations

import json

import pytest

from radcurate.engine.errors import ExtractionError
from radcurate.engine.vocabulary import LabelState, Vocabulary
from radcurate.plugins.extractors.llm import prompt as llm_prompt
from radcurate.plugins.extractors.llm.answers import EvidenceLocator, labels_from_answer


def test_evidence_matching_tolerates_whitespace_case_and_typography() -> None:
    report = "FINDINGS:\n  Small   LEFT pleural\neffusion “seen”.\nNo emphysema."
    locator = EvidenceLocator(report)
    start, end = locator.find("small left pleural effusion")
    assert report[start:end] == "Small   LEFT pleural\neffusion"
    start, end = locator.find('effusion "seen".')
    assert report[start:end] == "effusion “seen”."
    assert locator.find("no emphysema.") == (report.index("No emphysema"), len(report))
    start, end = locator.find("Small left pleural effusion.")  # a full stop the report does not have here
    assert report[start:end] == "Small   LEFT pleural\neffusion"
    assert locator.find("moderate effusion") is None


def test_answer_validation_rules() -> None:
    vocab = Vocabulary.from_names(["Cardiomegaly", "Emphysema"])
    report = "Cardiomegaly. No emphysema."

    def answer(items: dict) -> str:
        return json.dumps({"findings": items})

    ok = answer(
        {
            "cardiomegaly": {"state": "present", "evidence": "cardiomegaly"},
            "Emphysema": {"state": "absent", "evidence": ""},
        }
    )
    labels = labels_from_answer(report, ok, None, vocab)
    assert [(lab.finding, lab.state.value, lab.start) for lab in labels] == [
        ("Cardiomegaly", "present", 0),
        ("Emphysema", "absent", None),
    ]
    no_quote = answer(
        {
            "Cardiomegaly": {"state": "present", "evidence": ""},
            "Emphysema": {"state": "not_mentioned", "evidence": "whatever"},
        }
    )
    labels = labels_from_answer(report, no_quote, None, vocab)
    assert labels[0].state is LabelState.UNCERTAIN and labels[0].flags == ("evidence_missing",)
    assert labels[1].state is LabelState.NOT_MENTIONED and labels[1].evidence is None
    for bad, reason in [
        (
            answer(
                {"Cardiomegaly": {"state": "maybe", "evidence": ""}, "Emphysema": {"state": "absent", "evidence": ""}}
            ),
            "unknown state 'maybe'",
        ),
        (
            answer(
                {
                    "Cardiomegaly": {"state": "absent", "evidence": ""},
                    "cardiomegaly": {"state": "absent", "evidence": ""},
                    "Emphysema": {"state": "absent", "evidence": ""},
                }
            ),
            "twice",
        ),
        ('{"labels": []}', "no 'findings' object"),
        ("", "empty"),
    ]:
        with pytest.raises(ExtractionError, match=reason):
            labels_from_answer(report, bad, None, vocab)


def test_prompt_hash_changes_with_the_vocabulary_and_cache_key_with_the_model() -> None:
    a, b = Vocabulary.default(), Vocabulary.from_names(["Cardiomegaly"])
    assert llm_prompt.prompt_hash(a) != llm_prompt.prompt_hash(b)
    assert llm_prompt.prompt_hash(a) == llm_prompt.prompt_hash(Vocabulary.default())
    h = llm_prompt.prompt_hash(a)
    assert llm_prompt.cache_key("00", "m1", h) != llm_prompt.cache_key("00", "m2", h)
    schema = llm_prompt.response_format(a)
    assert schema["json_schema"]["strict"] is True
    assert schema["json_schema"]["schema"]["properties"]["findings"]["required"] == list(a)
