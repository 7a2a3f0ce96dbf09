"""Classes of radiology phrasing the rule-based extractor must read right under the default conventions.

Plain English written for these tests (not copied from any dataset), a handful of sentences per
class, so that each class is covered by general cues and scopes rather than by one sentence. The
classes, with the rule that handles each (:mod:`radcurate.plugins.extractors.rules.cues`):

* negation after the finding (``Atelectasis: none``, ``X is not seen``);
* a scope that ends at a clause boundary (``Without effusion, atelectasis is seen``);
* resolution over time (``no longer visible``, ``has resolved``, ``interval resolution``);
* pseudo-negation: a change that did not happen is not an absent finding (``no change in the nodule``);
* hedges (``unlikely``, ``less likely``, ``versus``, ``cannot be excluded``, ``equivocal``);
* normal statements (``normal calibre without wall calcification``, ``upper limit of normal``);
* verbs that are not about seeing (``was not followed up``, ``was not biopsied``).
"""

from __future__ import annotations

import pytest

from radcurate.engine.vocabulary import LabelState, Vocabulary
from radcurate.plugins.extractors.rules.extractor import RuleBasedExtractor

A, P, U, N = LabelState.ABSENT, LabelState.PRESENT, LabelState.UNCERTAIN, LabelState.NOT_MENTIONED
DEFAULT = Vocabulary.default()

PHRASING: dict[str, list[tuple[str, dict[str, LabelState]]]] = {
    "negation after the finding": [
        ("Atelectasis: none.", {"Atelectasis": A}),
        ("Pleural effusion: absent.", {"Pleural effusion": A}),
        ("Pericardial effusion: negative.", {"Pericardial effusion": A}),
        ("Lymphadenopathy: no.", {"Lymphadenopathy": A}),
        ("Emphysema: not present.", {"Emphysema": A}),
        ("A hiatal hernia is not seen.", {"Hiatal hernia": A}),
        ("Consolidation was not identified in either lung.", {"Consolidation": A}),
        ("Bronchiectasis is not evident.", {"Bronchiectasis": A}),
        ("Pulmonary nodules are not demonstrated on this study.", {"Lung nodule": A}),
        ("Mosaic attenuation is absent.", {"Mosaic attenuation pattern": A}),
        ("Cardiomegaly is not appreciated.", {"Cardiomegaly": A}),
        ("Coronary artery calcification: none.", {"Coronary artery wall calcification": A}),
        ("Nodules: none seen.", {"Lung nodule": A}),
        ("Effusion - none.", {"Pleural effusion": A}),
        ("Hiatal hernia: not identified.", {"Hiatal hernia": A}),
        ("Pericardial effusion - absent.", {"Pericardial effusion": A}),
        ("Consolidation has not been identified.", {"Consolidation": A}),
        ("Septal thickening is not observed.", {"Interlobular septal thickening": A}),
        ("Lymph nodes: no enlarged nodes.", {"Lymphadenopathy": A}),
        ("Atelectasis: none. Consolidation: present in the left lower lobe.", {"Atelectasis": A, "Consolidation": P}),
        ("Emphysema: mild centrilobular.", {"Emphysema": P}),
    ],
    "scope ends at a clause boundary": [
        ("Without effusion, atelectasis is seen at the left base.", {"Pleural effusion": A, "Atelectasis": P}),
        ("There is no effusion, but consolidation is present.", {"Pleural effusion": A, "Consolidation": P}),
        ("No pneumothorax; a small nodule is noted in the right apex.", {"Lung nodule": P}),
        ("No pericardial effusion, the heart is enlarged.", {"Pericardial effusion": A, "Cardiomegaly": P}),
        (
            "In the absence of pleural effusion, bibasal atelectasis is present.",
            {"Pleural effusion": A, "Atelectasis": P},
        ),
        (
            "No consolidation is seen, and emphysema is noted in the upper lobes.",
            {"Consolidation": A, "Emphysema": P},
        ),
        ("Emphysema is present, whereas bronchiectasis is not seen.", {"Emphysema": P, "Bronchiectasis": A}),
        ("No nodule, mass or effusion is seen.", {"Lung nodule": A, "Pleural effusion": A}),
        ("Although there is no effusion, the pericardium contains fluid.", {"Pleural effusion": A}),
        (
            "There is no lymphadenopathy although a hiatal hernia is seen.",
            {"Lymphadenopathy": A, "Hiatal hernia": P},
        ),
        ("Without pleural effusion, there is bibasilar atelectasis.", {"Pleural effusion": A, "Atelectasis": P}),
        ("No emphysema, the airways show bronchiectasis.", {"Emphysema": A, "Bronchiectasis": P}),
        ("Free of effusion, the lungs show mild emphysema.", {"Pleural effusion": A, "Emphysema": P}),
        (
            "No pleural effusion, pericardial effusion or lymphadenopathy.",
            {"Pleural effusion": A, "Pericardial effusion": A, "Lymphadenopathy": A},
        ),
        (
            "There is no pneumothorax or pleural effusion, and the heart is enlarged.",
            {"Pleural effusion": A, "Cardiomegaly": P},
        ),
        (
            "No lymphadenopathy, no pleural effusion, small pericardial effusion.",
            {"Lymphadenopathy": A, "Pleural effusion": A, "Pericardial effusion": P},
        ),
        ("Small pericardial effusion, no pleural effusion.", {"Pericardial effusion": P, "Pleural effusion": A}),
    ],
    "resolution over time": [
        ("The previously seen nodule is no longer visible.", {"Lung nodule": A}),
        ("The right pleural effusion has resolved.", {"Pleural effusion": A}),
        ("Interval resolution of the left lower lobe consolidation.", {"Consolidation": A}),
        ("The atelectasis seen on the prior study has since resolved.", {"Atelectasis": A}),
        ("Complete resolution of the pericardial effusion.", {"Pericardial effusion": A}),
        ("The ground-glass opacities have cleared.", {"Lung opacity": A}),
        ("Previously described lymphadenopathy is no longer present.", {"Lymphadenopathy": A}),
        ("The consolidation has disappeared.", {"Consolidation": A}),
        ("The pleural effusion is no longer seen.", {"Pleural effusion": A}),
        ("There is no longer any pericardial effusion.", {"Pericardial effusion": A}),
        ("The nodule, seen on the prior study, is no longer present.", {"Lung nodule": A}),
        ("Interval clearing of the consolidation.", {"Consolidation": A}),
        ("Previously noted ground-glass opacity is no longer evident.", {"Lung opacity": A}),
        ("The right middle lobe atelectasis has completely resolved.", {"Atelectasis": A}),
        ("Disappearance of the previously seen ground-glass opacities.", {"Lung opacity": A}),
        ("Pleural effusion, now resolved.", {"Pleural effusion": A}),
        (
            "Bronchiectasis was not present on the prior study but is seen now.",
            {"Bronchiectasis": P},
        ),
    ],
    "pseudo-negation": [
        ("No change in the right upper lobe nodule.", {"Lung nodule": P}),
        ("No increase in the left pleural effusion.", {"Pleural effusion": P}),
        ("No significant interval change in the mediastinal lymphadenopathy.", {"Lymphadenopathy": P}),
        ("No interval growth of the 6 mm nodule.", {"Lung nodule": P}),
        ("No further enlargement of the hiatal hernia.", {"Hiatal hernia": P}),
        ("The pericardial effusion is not significantly changed.", {"Pericardial effusion": P}),
        ("No decrease in the size of the consolidation.", {"Consolidation": P}),
        ("There is no interval change in the appearance of the emphysema.", {"Emphysema": P}),
        ("No progression of the bronchiectasis.", {"Bronchiectasis": P}),
        ("The nodule shows no change in size compared with the prior study.", {"Lung nodule": P}),
        ("No worsening of the consolidation.", {"Consolidation": P}),
        ("No appreciable change in emphysema.", {"Emphysema": P}),
        ("No interval change in the bilateral pleural effusions.", {"Pleural effusion": P}),
        ("Pleural effusion is not increased compared to the prior study.", {"Pleural effusion": P}),
        ("No change in the appearance of the interlobular septal thickening.", {"Interlobular septal thickening": P}),
        ("No substantial change in the emphysema.", {"Emphysema": P}),
    ],
    "hedges": [
        ("Atelectasis is unlikely.", {"Atelectasis": U}),
        ("Consolidation is less likely.", {"Consolidation": U}),
        ("Atelectasis versus consolidation in the left lower lobe.", {"Atelectasis": U, "Consolidation": U}),
        ("A small pleural effusion cannot be excluded.", {"Pleural effusion": U}),
        ("Equivocal small pericardial effusion.", {"Pericardial effusion": U}),
        ("The bronchiectasis is equivocal.", {"Bronchiectasis": U}),
        ("Findings likely represent atelectasis.", {"Atelectasis": U}),
        ("A tiny nodule may be present in the lingula.", {"Lung nodule": U}),
        ("Consolidation vs atelectasis at the right base.", {"Consolidation": U, "Atelectasis": U}),
        ("Possible mild emphysema.", {"Emphysema": U}),
        ("Hiatal hernia is doubtful.", {"Hiatal hernia": U}),
        ("Borderline cardiomegaly.", {"Cardiomegaly": U}),
        ("Findings are less likely to represent consolidation.", {"Consolidation": U}),
        ("Nodule versus atelectasis in the left base.", {"Lung nodule": U, "Atelectasis": U}),
        ("Consolidation is considered unlikely.", {"Consolidation": U}),
        ("A small effusion is possible.", {"Pleural effusion": U}),
        ("Early consolidation is not excluded.", {"Consolidation": U}),
        ("Indeterminate nodule in the right upper lobe.", {"Lung nodule": U}),
        ("Ground-glass opacity, likely infectious.", {"Lung opacity": P}),
        ("Atelectasis is more likely than consolidation.", {"Atelectasis": U}),
        ("Findings are equivocal for mosaic attenuation.", {"Mosaic attenuation pattern": U}),
        ("Pleural effusion cannot be entirely excluded.", {"Pleural effusion": U}),
        ("Suggestive of early bronchiectasis.", {"Bronchiectasis": U}),
    ],
    "normal statements": [
        (
            "The thoracic aorta is of normal calibre without wall calcification.",
            {"Arterial wall calcification": A},
        ),
        ("Heart size is at the upper limit of normal.", {"Cardiomegaly": A}),
        ("Mediastinal lymph nodes are within normal limits.", {"Lymphadenopathy": A}),
        ("The heart is not enlarged.", {"Cardiomegaly": A}),
        ("Lymph nodes are not enlarged.", {"Lymphadenopathy": A}),
        ("Normal heart size without pericardial effusion.", {"Cardiomegaly": A, "Pericardial effusion": A}),
        ("Bronchial walls are not thickened.", {"Peribronchial thickening": A}),
        ("Normal-sized mediastinal and hilar lymph nodes.", {"Lymphadenopathy": A}),
        ("The heart is normal in size.", {"Cardiomegaly": A}),
        ("Aortic calibre is normal, with no calcified plaque.", {"Arterial wall calcification": A}),
        ("The cardiac silhouette is normal.", {"Cardiomegaly": A}),
        ("Heart size upper limit of normal.", {"Cardiomegaly": A}),
        ("Hilar lymph nodes are normal in size.", {"Lymphadenopathy": A}),
        ("The aortic wall is free of calcification.", {"Arterial wall calcification": A}),
        ("Normal caliber thoracic aorta with no atherosclerotic calcification.", {"Arterial wall calcification": A}),
        ("Mediastinal lymph nodes are normal.", {"Lymphadenopathy": A}),
        ("Heart: normal size. Pericardium: no effusion.", {"Cardiomegaly": A}),
        ("Aortic wall: no calcification.", {"Arterial wall calcification": A}),
    ],
    "verbs not about seeing": [
        ("The right lower lobe nodule was not followed up.", {"Lung nodule": P}),
        ("The pleural effusion was not drained.", {"Pleural effusion": P}),
        ("The nodule was not biopsied.", {"Lung nodule": P}),
        ("The known hiatal hernia was not repaired.", {"Hiatal hernia": P}),
        ("The consolidation was not sampled.", {"Consolidation": P}),
        ("The lymphadenopathy was not treated.", {"Lymphadenopathy": P}),
        ("The pericardial effusion has not been tapped.", {"Pericardial effusion": P}),
        ("The nodule was not measured on the prior study.", {"Lung nodule": P}),
        ("The pleural effusion was not aspirated.", {"Pleural effusion": P}),
        ("The lymphadenopathy has not been biopsied.", {"Lymphadenopathy": P}),
        ("Emphysema was not reported on the previous CT.", {"Emphysema": P}),
        ("The nodule was not monitored.", {"Lung nodule": P}),
    ],
}

CASES = [(cls, text, expected) for cls, items in PHRASING.items() for text, expected in items]


@pytest.fixture(scope="module")
def rules() -> RuleBasedExtractor:
    return RuleBasedExtractor()


@pytest.mark.parametrize(("cls", "text", "expected"), CASES, ids=[f"{c}: {t}" for c, t, _ in CASES])
def test_phrasing_class(rules: RuleBasedExtractor, cls: str, text: str, expected: dict[str, LabelState]) -> None:
    got = {label.finding: label.state for label in rules.extract(text, DEFAULT)}
    assert {finding: got[finding] for finding in expected} == expected
