"""The rule-based extractor: sections, sentences, negation and uncertainty scopes, synonym files.

Sentences below are real phrasings from CT-RATE reports (English translations of Turkish
reports) and from the CheXpert and NegBio samples, so each test pins behaviour a reader relies on.
"""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from radcurate.engine.contracts.labels import SilverLabel
from radcurate.engine.contracts.plugins import ReportExtractor
from radcurate.engine.errors import InputError
from radcurate.engine.vocabulary import CT_RATE_FINDINGS, LabelState, Vocabulary
from radcurate.plugins.extractors.rules.extractor import RuleBasedExtractor
from radcurate.plugins.extractors.rules.phrases import phrase_atoms
from radcurate.plugins.extractors.rules.sentences import split_report
from radcurate.plugins.extractors.rules.trie import literal_prefixes, trie_regex

P, A, U, N = LabelState.PRESENT, LabelState.ABSENT, LabelState.UNCERTAIN, LabelState.NOT_MENTIONED
DEFAULT = Vocabulary.default()

CHEXPERT_SYNONYMS = """
[findings."Enlarged Cardiomediastinum"]
synonyms = ["enlarged cardiomediastinum", "widened mediastinum", "mediastinal widening"]
[findings."Lung Lesion"]
synonyms = ["mass", "nodule", "lesion"]
[findings."Lung Opacity"]
synonyms = ["airspace disease", "infiltrate", "opacity"]
[findings."Edema"]
synonyms = ["pulmonary edema", "vascular congestion"]
[findings."Pneumonia"]
synonyms = ["infection"]
[findings."Support Devices"]
synonyms = ["picc", "catheter", "tube", "line", "pacemaker", "wire"]
"""


@pytest.fixture(scope="module")
def rules() -> RuleBasedExtractor:
    return RuleBasedExtractor()


def states(extractor: RuleBasedExtractor, text: str, vocabulary: Vocabulary = DEFAULT) -> dict[str, LabelState]:
    return {label.finding: label.state for label in extractor.extract(text, vocabulary)}


def assert_evidence_quotes(text: str, labels: list[SilverLabel]) -> None:
    for label in labels:
        if label.state in (P, U):
            assert label.evidence, label
        if label.evidence is not None:
            assert text[label.start : label.end] == label.evidence, label


# --------------------------------------------------------------------------- contract
def test_contract_one_label_per_finding_in_vocabulary_order(rules: RuleBasedExtractor) -> None:
    assert isinstance(rules, ReportExtractor)
    assert (RuleBasedExtractor.name, RuleBasedExtractor.version) == ("rules", "1.1.0")
    labels = rules.extract("Cardiomegaly. Hiatal hernia.", DEFAULT)
    assert [label.finding for label in labels] == list(CT_RATE_FINDINGS)
    assert sum(label.state is P for label in labels) == 2
    assert all(label.state is N and label.evidence is None for label in rules.extract("", DEFAULT))


def test_builtin_patterns_all_have_a_literal_start(rules: RuleBasedExtractor) -> None:
    """A pattern without one would scan every report in full and cost most of the speed."""
    assert rules._matcher(DEFAULT).everywhere == []
    assert literal_prefixes(r"\b(?:atheroma\w*|plaques?)\s+in") == {"atheroma", "plaque"}
    assert literal_prefixes(r"[ab]cd") is None


# --------------------------------------------------------------------------- negation
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pleural effusion-thickening was not detected.", {"Pleural effusion": A}),
        ("No pleural or pericardial effusion was detected.", {"Pleural effusion": A, "Pericardial effusion": A}),
        ("Pericardial, pleural effusion was not detected.", {"Pleural effusion": A, "Pericardial effusion": A}),
        (
            "No enlarged lymph nodes in prevascular, pre-paratracheal, subcarinal or bilateral hilar-axillary "
            "pathological dimensions were detected.",
            {"Lymphadenopathy": A},
        ),
        # a clause with its own verb after ", and" is outside the negation
        (
            "There is no pathological increase in wall thickness in the esophagus, and there is a sliding "
            "hiatal hernia at the lower end.",
            {"Hiatal hernia": P},
        ),
        (
            "No pleural effusion was detected, minimal atelectasis is observed in the left lower lobe.",
            {"Pleural effusion": A, "Atelectasis": P},
        ),
        ("Nodules in both lungs, but no pleural effusion.", {"Lung nodule": P, "Pleural effusion": A}),
        # "lack of contrast" is technique, not a negated finding
        (
            "The heart could not be evaluated optimally due to the lack of contrast, and minimal pericardial "
            "effusion is observed.",
            {"Pericardial effusion": P},
        ),
        # the negation sits in a partitive relative clause: the lymph nodes are there
        (
            "Lymph nodes were detected at prevascular level, the largest of which was 16x8 mm in size and "
            "not observed in pathological size and appearance.",
            {"Lymphadenopathy": P},
        ),
        # a relative clause set off by commas does not stop the negation reaching its subject
        (
            "The pleural effusion on the left, which was observed in the previous examination, was not "
            "detected in the current examination.",
            {"Pleural effusion": A},
        ),
        # ... but a cue inside such a clause stays there
        (
            "The nodule, which was not observed in the previous examination, is seen now in the right lobe.",
            {"Lung nodule": P},
        ),
        # a restrictive relative clause owns the negation when the cue is its first verb ...
        (
            "Consolidative density is observed in the left lower lobe accompanied by air bronchograms that "
            "were not observed in the previous examination.",
            {"Lung opacity": P, "Consolidation": P},
        ),
        # ... and the main clause owns it when the relative clause has a verb of its own
        ("Nodule or mass lesion that may be located in these areas cannot be excluded.", {"Lung nodule": U}),
        ("No significant change in the nodule in the right upper lobe.", {"Lung nodule": P}),
        ("Lymph nodes with fatty hiluses that did not reach pathological dimensions.", {"Lymphadenopathy": P}),
        ("Pleural or pericardial effusion or absent.", {"Pleural effusion": A, "Pericardial effusion": A}),
    ],
)
def test_negation_scope(rules: RuleBasedExtractor, text: str, expected: dict[str, LabelState]) -> None:
    got = states(rules, text)
    assert {finding: got[finding] for finding in expected} == expected


@pytest.fixture
def chexpert_synonyms(tmp_path: Path) -> Path:
    file = tmp_path / "chexpert.toml"
    file.write_text(CHEXPERT_SYNONYMS, encoding="utf-8")
    return file


def test_conjunction_list_negates_every_item(chexpert_synonyms: Path) -> None:
    extractor = RuleBasedExtractor(chexpert_synonyms)
    vocabulary = Vocabulary.from_names(["Lung Opacity", "Pleural Effusion", "Pneumothorax", "Cardiomegaly"])
    text = "mild cardiomegaly.\nno evidence of focal infiltrate, effusion or pneumothorax."
    labels = {label.finding: label for label in extractor.extract(text, vocabulary)}
    assert labels["Cardiomegaly"].state is P
    for finding in ("Lung Opacity", "Pleural Effusion", "Pneumothorax"):
        assert labels[finding].state is A
        assert labels[finding].evidence == "no evidence of focal infiltrate, effusion or pneumothorax."


def test_affirmed_beats_a_negation_elsewhere_and_is_flagged(rules: RuleBasedExtractor) -> None:
    text = "No nodule was detected in the left lung. A 4 mm nodule in the right middle lobe."
    label = rules.extract(text, DEFAULT)[CT_RATE_FINDINGS.index("Lung nodule")]
    assert (label.state, label.evidence, label.flags) == (
        P,
        "A 4 mm nodule in the right middle lobe.",
        ("negated_elsewhere",),
    )


def test_normal_statement_makes_cardiomegaly_absent(rules: RuleBasedExtractor) -> None:
    assert states(rules, "Mediastinal main vascular structures, heart contour, size are normal.")["Cardiomegaly"] is A
    assert states(rules, "The heart is larger than normal.")["Cardiomegaly"] is P


# --------------------------------------------------------------------------- uncertainty
@pytest.mark.parametrize(
    ("text", "finding", "state"),
    [
        ("Minimal patchy airspace disease in the lingula, may reflect atelectasis or consolidation.", "Atelectasis", U),
        (
            "Minimal patchy airspace disease in the lingula, may reflect atelectasis or consolidation.",
            "Consolidation",
            U,
        ),
        (
            "Minimal patchy airspace disease in the lingula, may reflect atelectasis or consolidation.",
            "Lung opacity",
            P,
        ),
        ("Postobstructive atelectasis?", "Atelectasis", U),
        ("A soft tissue density lesion is observed in the spleen hilum (lymph node?).", "Lymphadenopathy", U),
        ("Mediastinal lymph nodes (metastasis?).", "Lymphadenopathy", P),
        ("Early consolidation cannot be excluded.", "Consolidation", U),
        ("Findings suspicious for bronchiectasis in the right lower lobe.", "Bronchiectasis", U),
        ("No evidence of possible consolidation.", "Consolidation", A),
    ],
)
def test_uncertainty_scope(rules: RuleBasedExtractor, text: str, finding: str, state: LabelState) -> None:
    assert states(rules, text)[finding] is state


# --------------------------------------------------------------------------- sections and sentences
def test_sections_and_sentence_offsets() -> None:
    text = (
        "CLINICAL HISTORY: cough, rule out pneumonia and pleural effusion.\n"
        "FINDINGS:\n1. Left pleural effusion measuring 3.5 cm. Right effusion is also present.\n\n"
        '2. Cardiomegaly; no edema. " Hiatal hernia " Emphysema • Bullae\n'
        "IMPRESSION: Stable chest at 7:34 p.m."
    )
    layout = split_report(text)
    got = [(s.section, text[s.start : s.end]) for s in layout.sentences]
    assert got == [
        ("history", "cough, rule out pneumonia and pleural effusion."),
        ("findings", "Left pleural effusion measuring 3.5 cm."),
        ("findings", "Right effusion is also present."),
        ("findings", "Cardiomegaly"),
        ("findings", "no edema."),
        ("findings", "Hiatal hernia"),
        ("findings", "Emphysema"),
        ("findings", "Bullae"),
        ("impression", "Stable chest at 7:34 p.m."),
    ]
    assert layout.sentence_at(text.index("Right")) == 2 and layout.sentence_at(text.index("FINDINGS")) is None


def test_history_section_is_not_labelled(rules: RuleBasedExtractor) -> None:
    text = "Indication: evaluate for pleural effusion.\nFindings: Lungs are clear.\nImpression: Hiatal hernia."
    labels = rules.extract(text, DEFAULT)
    got = {label.finding: label.state for label in labels}
    assert (got["Pleural effusion"], got["Hiatal hernia"]) == (N, P)
    assert_evidence_quotes(text, labels)


def test_evidence_offsets_with_unicode_and_quotes(rules: RuleBasedExtractor) -> None:
    text = (
        '“Atheroma plaques in the aorta.” İnce • Sliding type hiatal hernia; no pleural effusion at 37.5 °C " '
        "Lymphadenopathy"
    )
    labels = rules.extract(text, DEFAULT)
    assert_evidence_quotes(text, labels)
    got = {label.finding: label.state for label in labels}
    assert [
        got[f] for f in ("Arterial wall calcification", "Hiatal hernia", "Pleural effusion", "Lymphadenopathy")
    ] == [
        P,
        P,
        A,
        P,
    ]


# --------------------------------------------------------------------------- custom vocabularies
def test_findings_without_synonyms_match_their_own_name_and_plural(rules: RuleBasedExtractor) -> None:
    vocabulary = Vocabulary.from_names(["Pneumothorax", "Rib fracture", "Pleural effusion"])
    got = states(rules, "Old rib fractures on the left. No pneumothorax. Small effusion.", vocabulary)
    assert got == {"Pneumothorax": A, "Rib fracture": P, "Pleural effusion": P}


def test_sentence_context_excludes_other_organs_unless_the_lung_is_named(rules: RuleBasedExtractor) -> None:
    assert states(rules, "A hypodense nodule of 6 mm in the right thyroid lobe.")["Lung nodule"] is N
    assert states(rules, "A nodule in the thyroid gland and a 4 mm nodule in the left lung.")["Lung nodule"] is P
    assert states(rules, "Intra-abdominal paraaortic lymph nodes.")["Lymphadenopathy"] is N
    assert states(rules, "Mediastinal, hilar and paraaortic lymph nodes.")["Lymphadenopathy"] is P


def test_synonym_file_adds_and_replaces_phrasing(tmp_path: Path) -> None:
    file = tmp_path / "synonyms.toml"
    file.write_text(
        '[findings."Pleural effusion"]\nsynonyms = ["fluid in the costophrenic angle"]\n'
        '[findings."Lung nodule"]\nsynonyms = ["coin lesion"]\nreplace = true\n'
        '[findings."Not in this vocabulary"]\nsynonyms = ["ignored"]\n',
        encoding="utf-8",
    )
    extractor = RuleBasedExtractor(file)
    got = states(extractor, "Fluid in the costophrenic angle. A coin lesion. A 4 mm nodule.")
    assert got["Pleural effusion"] is P and got["Lung nodule"] is P
    got = states(extractor, "A 4 mm nodule in the right lung. Pleural effusion was not detected.")
    assert got["Lung nodule"] is N  # replaced: only the name and "coin lesion" are left
    assert got["Pleural effusion"] is A  # added to the built-in phrasing
    assert extractor.version.startswith("1.1.0+clinical.synonyms.")
    assert extractor.details(DEFAULT)["synonyms"] == str(file)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "cannot read synonym file"),
        ("[findings", "invalid TOML"),
        ("findings = 3", 'expected [findings."<finding name>"] tables'),
        ('[findings."Lung nodule"]\nsynonyms = "nodule"', "expected a list of non-empty strings"),
        ('[findings."Lung nodule"]\npatterns = ["(unclosed"]', "invalid regex"),
        ('[findings."Lung nodule"]\nsynonym = ["typo"]', "unknown key(s) synonym"),
        ('[findings."Lung nodule"]\nreplace = "yes"', "expected true or false"),
    ],
)
def test_bad_synonym_file_names_the_file(tmp_path: Path, content: str | None, reason: str) -> None:
    file = tmp_path / "project" / "synonyms.toml"
    if content is not None:
        file.parent.mkdir()
        file.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        RuleBasedExtractor(file)
    assert caught.value.path == str(file) and str(file) in str(caught.value)
    assert reason in caught.value.reason


def test_chexpert_labeler_samples_four_states(chexpert_synonyms: Path, shared_data: Path) -> None:
    """The CheXpert labeller's own samples: every observation it labels, in its 4-state encoding."""
    folder = shared_data / "chexpert-labeler-samples"
    extractor = RuleBasedExtractor(chexpert_synonyms)
    with (folder / "labeled_reports.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    # "No Finding" is derived from the others, not named in a report
    vocabulary = Vocabulary.from_names([c for c in rows[0] if c not in ("Reports", "No Finding")])
    encoding = {P: "1.0", A: "0.0", U: "-1.0", N: ""}
    checked = 0
    for row in rows:
        labels = extractor.extract(row["Reports"], vocabulary)
        assert_evidence_quotes(row["Reports"], labels)
        assert {label.finding: encoding[label.state] for label in labels} == {f: row[f] for f in vocabulary}
        checked += sum(bool(row[f]) for f in vocabulary)
    assert (len(rows), checked) == (4, 12)


def test_negbio_negation_and_offsets_agree_with_negbio(chexpert_synonyms: Path, shared_data: Path) -> None:
    """NegBio's own output for report 00019248: same states, and its mention lies inside our quote."""
    root = ET.parse(shared_data / "negbio-examples" / "pipeline-outputs" / "1.neg_chexpert.xml").getroot()
    document = next(d for d in root.iter("document") if d.findtext("id") == "00019248")
    text = document.find("passage").findtext("text")
    names = {"Airspace Opacity": "Lung Opacity"}
    vocabulary = Vocabulary.from_names(
        ["Cardiomegaly", "Lung Opacity", "Pneumothorax", "Pleural Effusion", "Support Devices"]
    )
    extractor = RuleBasedExtractor(chexpert_synonyms)
    labels = {label.finding: label for label in extractor.extract(text, vocabulary)}
    assert_evidence_quotes(text, list(labels.values()))
    for annotation in document.iter("annotation"):
        observation = annotation.findtext("infon[@key='observation']")
        finding = names.get(observation, observation)
        negated = annotation.findtext("infon[@key='negation']") == "True"
        location = annotation.find("location")
        offset, length = int(location.get("offset")), int(location.get("length"))
        label = labels[finding]
        assert label.state is (A if negated else P), finding
        assert label.start <= offset and offset + length <= label.end
        assert text[offset : offset + length] == annotation.findtext("text")


def test_negbio_plain_text_with_crlf_and_headers(shared_data: Path) -> None:
    text = (shared_data / "negbio-examples" / "examples" / "00000086.txt").read_bytes().decode("utf-8")
    layout = split_report(text)
    assert {s.section for s in layout.sentences} == {"findings", "impression"}
    labels = RuleBasedExtractor().extract(text, Vocabulary.from_names(["Pneumothorax", "Cardiomegaly"]))
    assert [label.state for label in labels] == [A, N]
    assert_evidence_quotes(text, labels)


# --------------------------------------------------------------------------- phrase language
@pytest.mark.parametrize(
    ("phrase", "matches", "misses"),
    [
        ("ground glass", ["ground-glass", "ground  glass", "GROUND GLASS"], ["groundglass"]),
        ("nodule", ["nodules"], ["nodular"]),
        ("opacity", ["opacities"], ["opacitys"]),
        ("atelectasis", ["atelectases"], []),
        ("bulla", ["bullae"], ["bullous"]),
        ("emphysemat*", ["emphysematous"], ["emphysema"]),
    ],
)
def test_phrase_language(phrase: str, matches: list[str], misses: list[str]) -> None:
    regex = re.compile(trie_regex([phrase_atoms(phrase)]))
    for text in matches:
        assert regex.fullmatch(text.lower()), text
    for text in misses:
        assert not regex.fullmatch(text.lower()), text
