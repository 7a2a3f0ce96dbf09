"""Phrasings the rule-based extractor must read right, found with the phantom cohort's reports.

The phantom reports (``radcurate.engine.demo.phantom``) come with an unambiguous 4-state truth; these
sentences are the general gaps they exposed, plus the labelling conventions measured on
ctrate-gold-18 (decided by the majority of its gold labels, see ``synonyms.toml``).
"""

from __future__ import annotations

import pytest

from radcurate.engine.vocabulary import LabelState, Vocabulary
from radcurate.plugins.extractors.rules.extractor import RuleBasedExtractor

A, P, U, N = LabelState.ABSENT, LabelState.PRESENT, LabelState.UNCERTAIN, LabelState.NOT_MENTIONED
DEFAULT = Vocabulary.default()


@pytest.fixture(scope="module")
def rules() -> RuleBasedExtractor:
    return RuleBasedExtractor()


def states(extractor: RuleBasedExtractor, text: str) -> dict[str, LabelState]:
    return {label.finding: label.state for label in extractor.extract(text, DEFAULT)}


# Gaps found with the phantom cohort's reports (engine/demo/phantom), whose 4-state truth is unambiguous.


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a cue between the organ and the finding (post-verb negation) governs the finding
        ("The aortic wall shows no calcification.", {"Arterial wall calcification": A}),
        ("The aorta demonstrates no calcified plaque.", {"Arterial wall calcification": A}),
        ("Aortic wall reveals no atherosclerotic plaque.", {"Arterial wall calcification": A}),
        ("Thoracic aorta with no calcification.", {"Arterial wall calcification": A}),
        ("Aortic wall without calcific plaque.", {"Arterial wall calcification": A}),
        ("The aortic wall shows calcification.", {"Arterial wall calcification": P}),
        (
            "A faint density in the aortic wall may represent an early calcified plaque.",
            {"Arterial wall calcification": U},
        ),
        # coordinated modifiers sharing one head noun: both findings, with the same negation
        ("No pleural or pericardial effusion.", {"Pleural effusion": A, "Pericardial effusion": A}),
        ("No pericardial or pleural effusion.", {"Pleural effusion": A, "Pericardial effusion": A}),
        ("There is no pericardial and pleural effusion.", {"Pleural effusion": A, "Pericardial effusion": A}),
        ("Pleural and pericardial effusions are present.", {"Pleural effusion": P, "Pericardial effusion": P}),
        ("Right and left pleural effusions are seen.", {"Pleural effusion": P, "Pericardial effusion": N}),
        ("A pericardial thickening effusion is seen.", {"Pleural effusion": N, "Pericardial effusion": P}),
        # pleural fluid described by place
        ("A moderate amount of fluid is seen in both pleural spaces.", {"Pleural effusion": P}),
        ("Fluid is seen in the right pleural space.", {"Pleural effusion": P}),
        # normal-template statements that deny a finding
        ("No foreign material is identified.", {"Medical material": A}),
        ("Bronchial walls are of normal thickness.", {"Peribronchial thickening": A}),
        (
            "Aeration of both lung parenchyma is normal and no nodular or infiltrative lesion is detected.",
            {"Lung opacity": A, "Consolidation": A, "Lung nodule": A},
        ),
        # a finding placed in an earlier examination only is history, unless it is still there
        ("In the previous examination of the patient, there is consolidation in the lingula.", {"Consolidation": N}),
        ("In the prior study, there was a 4 mm nodule in the right upper lobe.", {"Lung nodule": N}),
        ("In the previous examination, there is a nodule that is still present.", {"Lung nodule": P}),
        ("Consolidation is seen in the lingula, as in the previous examination.", {"Consolidation": P}),
        # acinar (airspace) densities are opacities
        ("Acinar densities are observed in the left lower lobe.", {"Lung opacity": P}),
        # nodules of the mediastinum or of the pleura itself are not lung nodules
        ("Metastatic nodule sizes are stable in anterior and posterior mediastinum.", {"Lung nodule": N}),
        ("Nodular lesions are observed in the pleura on the right.", {"Lung nodule": N}),
        ("Pleural-based nodular lesions are observed in the right lower lobe.", {"Lung nodule": P}),
    ],
)
def test_phantom_report_phrasing(rules: RuleBasedExtractor, text: str, expected: dict[str, LabelState]) -> None:
    got = states(rules, text)
    assert {finding: got[finding] for finding in expected} == expected


# The same words under the two label conventions: (text, clinical, ctrate). The ctrate readings are
# the majority of ctrate-gold-18's labels (conventions_ctrate.toml); clinical is what a radiologist means.
@pytest.mark.parametrize(
    ("text", "clinical", "ctrate"),
    [
        ("Bronchial wall thickening.", {"Peribronchial thickening": P}, {"Peribronchial thickening": N}),
        (
            "A ground-glass nodule of 6 mm in the right upper lobe.",
            {"Lung nodule": P, "Lung opacity": P},
            {"Lung nodule": P, "Lung opacity": N},
        ),
        (
            "There is an increase in density consistent with consolidation in the left lower lobe.",
            {"Consolidation": P, "Lung opacity": P},
            {"Consolidation": P, "Lung opacity": N},
        ),
        (
            "Diffuse density increase in the lung parenchyma is compatible with mild parenchymal fibrosis.",
            {"Lung opacity": P},
            {"Lung opacity": P},
        ),
        (
            "Density increases consistent with fibrotic sequelae in the right apex.",
            {"Lung opacity": P, "Pulmonary fibrotic sequela": P},
            {"Lung opacity": N, "Pulmonary fibrotic sequela": P},
        ),
        ("Mediastinal lymph nodes are within normal limits.", {"Lymphadenopathy": A}, {"Lymphadenopathy": P}),
        (
            "A few subcentimetric lymph nodes are seen in the mediastinum.",
            {"Lymphadenopathy": A},
            {"Lymphadenopathy": P},
        ),
        ("An enlarged lymph node is seen in the right hilum.", {"Lymphadenopathy": P}, {"Lymphadenopathy": P}),
        (
            "Lymph nodes with a short axis of 7 mm are seen in the mediastinum.",
            {"Lymphadenopathy": A},
            {"Lymphadenopathy": P},
        ),
        ("A lymph node measuring 15 mm in short axis is seen.", {"Lymphadenopathy": P}, {"Lymphadenopathy": P}),
        ("The nodule in the right lower lobe was not followed up.", {"Lung nodule": P}, {"Lung nodule": A}),
        ("Pleural effusion was not monitored.", {"Pleural effusion": P}, {"Pleural effusion": A}),
        (
            "Calcified plaques are seen in the abdominal aorta.",
            {"Arterial wall calcification": P},
            {"Arterial wall calcification": N},
        ),
        (
            "Fibroatelectatic changes in the lingula.",
            {"Atelectasis": P, "Pulmonary fibrotic sequela": P},
            {"Atelectasis": N, "Pulmonary fibrotic sequela": P},
        ),
        ("Crazy paving pattern in both lower lobes.", {"Lung opacity": P}, {"Lung opacity": N}),
    ],
)
def test_conventions(text: str, clinical: dict[str, LabelState], ctrate: dict[str, LabelState]) -> None:
    for conventions, expected in (("clinical", clinical), ("ctrate", ctrate)):
        got = states(_extractor(conventions), text)
        assert {finding: got[finding] for finding in expected} == expected, conventions


_EXTRACTORS: dict[str, RuleBasedExtractor] = {}


def _extractor(conventions: str) -> RuleBasedExtractor:
    if conventions not in _EXTRACTORS:
        _EXTRACTORS[conventions] = RuleBasedExtractor(conventions=conventions)
    return _EXTRACTORS[conventions]


def test_conventions_name_the_labels() -> None:
    clinical, ctrate = _extractor("clinical"), _extractor("ctrate")
    assert (clinical.source_name, ctrate.source_name) == ("rules", "rules:ctrate")
    assert clinical.version != ctrate.version and ctrate.version.endswith("+ctrate")
    assert ctrate.details(DEFAULT)["conventions"] == "ctrate"


def test_unknown_conventions_are_refused_naming_the_choices() -> None:
    from radcurate.engine.errors import InputError

    with pytest.raises(InputError, match="clinical, ctrate"):
        RuleBasedExtractor(conventions="chexpert")
