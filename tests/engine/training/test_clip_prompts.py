"""Prompt templates, report sentences, and the finding-level polarity pairs CLIP trains on."""

from __future__ import annotations

import numpy as np
import pytest

from radcurate.engine.errors import InputError
from radcurate.engine.training.polarity_sentences import PolarityBank
from radcurate.engine.training.prompts import DEFAULT_TEMPLATES, all_prompts, parse_templates, report_sentences

FINDINGS = ("Cardiomegaly", "Pleural effusion")


def test_templates_fill_the_finding_in_either_case():
    assert len(DEFAULT_TEMPLATES) >= 3
    assert DEFAULT_TEMPLATES[0].pair("Pleural effusion") == (
        "There is pleural effusion.",
        "There is no pleural effusion.",
    )
    assert DEFAULT_TEMPLATES[1].pair("pleural effusion")[0] == "Pleural effusion is present."
    (custom,) = parse_templates(["{Finding} seen. | {Finding} not seen."])
    assert custom.pair("emphysema") == ("Emphysema seen.", "Emphysema not seen.")
    assert len(all_prompts(FINDINGS, DEFAULT_TEMPLATES)) == 2 * 2 * len(DEFAULT_TEMPLATES)


@pytest.mark.parametrize("bad", ["There is {finding}.", "There is {finding}. | No effusion.", "{x} | no {finding}"])
def test_malformed_templates_are_refused(bad: str):
    with pytest.raises(InputError):
        parse_templates([bad])


def test_report_sentences_drop_headers_and_list_numbers():
    text = "FINDINGS:\nThe heart is enlarged. No pleural effusion.\n\nConclusion:\n1. Cardiomegaly.\n2. Port in place."
    assert report_sentences(text) == [
        "The heart is enlarged.",
        "No pleural effusion.",
        "Cardiomegaly.",
        "Port in place.",
    ]


def test_pairs_use_the_reports_own_sentence_against_a_hard_negative():
    labels = np.array([[1, 0], [0, 1], [0, 0]], dtype=np.float32)
    mask = np.array([[1, 1], [1, 1], [1, 0]], dtype=np.float32)  # study 2's effusion is uncertain
    evidence = [
        ["The heart is enlarged.", "No pleural effusion."],
        ["Heart size is normal.", "Bilateral pleural effusion."],
        [None, "Possible small effusion."],
    ]
    bank = PolarityBank(FINDINGS).add_rows(labels, mask, evidence)
    assert bank.counts() == {"Cardiomegaly": (1, 1), "Pleural effusion": (1, 1)}  # the masked quote is not banked
    stating, denying = bank.pairs(labels, mask, evidence, np.random.default_rng(0))
    assert len(stating) == len(denying) == 6
    # study 0: its own "enlarged" sentence states cardiomegaly, the hard negative denies it
    assert (stating[0], denying[0]) == ("The heart is enlarged.", "Heart size is normal.")
    assert (stating[1], denying[1]) == ("Bilateral pleural effusion.", "No pleural effusion.")
    # study 2 has no quote for cardiomegaly (label 0): both sides drawn from the bank
    assert (stating[4], denying[4]) == ("The heart is enlarged.", "Heart size is normal.")


def test_a_finding_without_sentences_falls_back_to_the_template_and_withheld_ones_stay_out():
    labels = np.array([[1, 1]], dtype=np.float32)
    mask = np.array([[1, 0]], dtype=np.float32)  # effusion withheld
    bank = PolarityBank(FINDINGS).add_rows(labels, mask, [["Cardiomegaly.", "Large pleural effusion."]])
    assert "Large pleural effusion." not in bank.texts()
    stating, denying = bank.pairs(labels, mask, None, np.random.default_rng(0))
    assert stating[0] == "Cardiomegaly." and denying[0] == "There is no cardiomegaly."
    shared = PolarityBank(FINDINGS, template_share=1.0).add_rows(labels, mask, [["Cardiomegaly.", None]])
    assert shared.pairs(labels, mask, None, np.random.default_rng(0))[0][0] == "There is cardiomegaly."
