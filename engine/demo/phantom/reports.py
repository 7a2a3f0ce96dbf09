"""Radiology reports for phantom cases, written from the phrase bank, with what each one states.

Reports tell the truth about the image, the way radiologists do: every drawn finding is
mentioned, most as present, some hedged ("possible", "cannot be excluded"); some only in the
impression, some only in the findings; a share of the absent findings are negated (one by one,
by a grouped normal statement, or in a clause of another finding's sentence) and the rest are not
mentioned at all. :class:`PhantomReport` records the state the report gives each finding and
where it says so (``text[start:end]``), which is the reference for extractor tests:
``present``/``uncertain``/``absent``/``not_mentioned``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from radcurate.engine.demo.phantom import phrasing as ph
from radcurate.engine.demo.phantom.cases import CaseSpec, rng_for
from radcurate.engine.vocabulary import CT_RATE_FINDINGS, LabelState

P_UNCERTAIN = 0.1  # a drawn finding is reported with a hedge
P_IMPRESSION_ONLY = 0.2  # a drawn finding is named only in the impression
P_FINDINGS_ONLY = 0.25  # ... only in the findings section
P_NEGATED = 0.5  # an absent finding is negated (else not mentioned)

_SECTIONS = {
    "mediastinum": (
        "Medical material",
        "Cardiomegaly",
        "Pericardial effusion",
        "Arterial wall calcification",
        "Coronary artery wall calcification",
        "Lymphadenopathy",
        "Hiatal hernia",
    ),
    "lungs": (
        "Emphysema",
        "Mosaic attenuation pattern",
        "Interlobular septal thickening",
        "Pulmonary fibrotic sequela",
        "Lung opacity",
        "Consolidation",
        "Lung nodule",
        "Bronchiectasis",
        "Peribronchial thickening",
        "Atelectasis",
    ),
    "pleura": ("Pleural effusion",),
}
_IMPRESSION_ORDER = (
    "Consolidation",
    "Pleural effusion",
    "Lung nodule",
    "Lung opacity",
    "Cardiomegaly",
    "Pericardial effusion",
    "Lymphadenopathy",
    "Atelectasis",
    "Emphysema",
    "Bronchiectasis",
    "Mosaic attenuation pattern",
    "Interlobular septal thickening",
    "Peribronchial thickening",
    "Pulmonary fibrotic sequela",
    "Hiatal hernia",
    "Coronary artery wall calcification",
    "Arterial wall calcification",
    "Medical material",
)


@dataclass(frozen=True)
class Mention:
    """Where a report states a finding: ``text[start:end]`` is the sentence or clause."""

    finding: str
    state: LabelState
    section: str  # "findings" | "impression"
    start: int
    end: int


@dataclass(frozen=True)
class PhantomReport:
    study_id: str
    text: str
    states: dict[str, LabelState]  # every default finding, CT-RATE order
    mentions: tuple[Mention, ...]


Sentence = tuple[str, list[tuple[str, LabelState, int, int]]]  # text, (finding, state, start, end)


def _pick(rng: np.random.Generator, options: list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _sentence(rng: np.random.Generator, spec: CaseSpec, name: str, state: LabelState, where: str) -> Sentence:
    plan = dict(spec.findings.get(name, {}))
    bank = ph.BANK[name]
    if name == "Medical material" and state is LabelState.PRESENT:
        body, impression = ph.DEVICES[plan["device"]]
        template = _pick(rng, impression if where == "impression" else body)
    elif state is LabelState.PRESENT:
        template = _pick(rng, bank[ph.IMPRESSION if where == "impression" else ph.PRESENT])
    else:
        template = _pick(rng, bank[ph.ABSENT if state is LabelState.ABSENT else ph.UNCERTAIN])
    text = template.format(**ph.facts(plan))
    text = text[:1].upper() + text[1:]
    return text, [(name, state, 0, len(text))]


class _Text:
    """Accumulates report text and the offsets of every mention in it."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.mentions: list[Mention] = []

    def add(self, text: str, section: str = "", spans: list[tuple[str, LabelState, int, int]] = ()) -> None:  # type: ignore[assignment]
        for name, state, a, b in spans:
            self.mentions.append(Mention(name, state, section, self.length + a, self.length + b))
        self.parts.append(text)
        self.length += len(text)

    def sentences(self, items: list[Sentence], section: str, sep: str = " ") -> None:
        for n, (text, spans) in enumerate(items):
            if n:
                self.add(sep)
            self.add(text, section, spans)


def _decide(rng: np.random.Generator, spec: CaseSpec) -> tuple[dict[str, LabelState], dict[str, str]]:
    """The state each finding gets and where it is said: 'both', 'findings', 'impression' or ''."""
    states, where = {}, {}
    for name in CT_RATE_FINDINGS:
        if name in spec.findings:
            hedge = rng.random() < P_UNCERTAIN and ph.UNCERTAIN in ph.BANK[name]
            states[name] = LabelState.UNCERTAIN if hedge else LabelState.PRESENT
            r = rng.random()
            where[name] = (
                "impression"
                if r < P_IMPRESSION_ONLY
                else "findings"
                if r < P_IMPRESSION_ONLY + P_FINDINGS_ONLY
                else "both"
            )
        elif rng.random() < P_NEGATED:
            states[name] = LabelState.ABSENT
            where[name] = "impression" if rng.random() < 0.12 else "findings"
        else:
            states[name], where[name] = LabelState.NOT_MENTIONED, ""
    if spec.findings and not any(where[n] in ("both", "impression") for n in spec.findings):
        first = next(n for n in _IMPRESSION_ORDER if n in spec.findings)
        where[first] = "both"
    return states, where


def _findings_section(
    rng: np.random.Generator, spec: CaseSpec, states: dict[str, LabelState], where: dict[str, str]
) -> dict[str, list[Sentence]]:
    said_in_findings = {n for n in CT_RATE_FINDINGS if where[n] in ("findings", "both")}
    grouped: dict[str, Sentence] = {}
    for text, members in ph.GROUPED_NEGATIONS:
        if rng.random() < 0.6 and all(states[m] is LabelState.ABSENT and m in said_in_findings for m in members):
            if not any(m in grouped for m in members):
                for m in members:
                    grouped[m] = (
                        (text, [(x, LabelState.ABSENT, 0, len(text)) for x in members]) if m == members[0] else ("", [])
                    )
    out: dict[str, list[Sentence]] = {}
    for section, names in _SECTIONS.items():
        items: list[Sentence] = []
        for name in names:
            if name not in said_in_findings:
                continue
            if name in grouped:
                if grouped[name][0]:
                    items.append(grouped[name])
                continue
            items.append(_sentence(rng, spec, name, states[name], "findings"))
        out[section] = items
    _combine_heart(rng, out["mediastinum"], states, grouped)
    return out


def _combine_heart(
    rng: np.random.Generator, items: list[Sentence], states: dict[str, LabelState], grouped: dict[str, Sentence]
) -> None:
    """Sometimes fold a negated pericardial effusion into the cardiomegaly sentence (a negation
    whose scope must not reach the present finding)."""
    names = [spans[0][0] if spans else "" for _, spans in items]
    if (
        states["Cardiomegaly"] is LabelState.PRESENT
        and states["Pericardial effusion"] is LabelState.ABSENT
        and "Cardiomegaly" in names
        and "Pericardial effusion" in names
        and "Pericardial effusion" not in grouped
        and rng.random() < 0.5
    ):
        head, tail = "The heart is enlarged", "without pericardial effusion"
        text = f"{head}, {tail}."
        spans = [
            ("Cardiomegaly", LabelState.PRESENT, 0, len(head)),
            ("Pericardial effusion", LabelState.ABSENT, len(head) + 2, len(head) + 2 + len(tail)),
        ]
        i, j = names.index("Cardiomegaly"), names.index("Pericardial effusion")
        items[i] = (text, spans)
        del items[j]


def compose_report(spec: CaseSpec) -> PhantomReport:
    """The report of one case (deterministic for the spec)."""
    rng = rng_for(spec.seed, spec.index, 4)
    states, where = _decide(rng, spec)
    sections = _findings_section(rng, spec, states, where)
    impression = [
        _sentence(rng, spec, n, states[n], "impression")
        for n in _IMPRESSION_ORDER
        if where[n] in ("both", "impression") and states[n] is not LabelState.ABSENT
    ]
    impression += [
        _sentence(rng, spec, n, states[n], "impression")
        for n in CT_RATE_FINDINGS
        if where[n] == "impression" and states[n] is LabelState.ABSENT
    ]
    if not spec.findings and not impression:
        impression = [(_pick(rng, ph.NORMAL_IMPRESSIONS), [])]
    fill: dict[str, Sentence] = {key: (_pick(rng, options), []) for key, options in ph.FILLERS.items()}
    if "Hiatal hernia" in spec.findings and "esophageal" in fill["mediastinum"][0]:
        fill["mediastinum"] = ("Thoracic aorta diameter is normal.", [])
    body = (
        [fill["airway"], *sections["mediastinum"], fill["mediastinum"]],
        [*sections["lungs"]],
        [*sections["pleura"], fill["abdomen"], fill["bones"]],
    )
    layout = int(rng.integers(3))
    out = _Text()
    phase = "Contrast-enhanced" if spec.anatomy.contrast else "Non-contrast"
    if layout == 0:
        out.add("FINDINGS:\n")
        out.sentences([s for group in body for s in group], "findings")
        out.add("\n\nIMPRESSION:\n")
        out.sentences(impression, "impression")
    elif layout == 1:
        out.add(f"Technique: {phase} chest CT with {spec.spacing[2]:g} mm sections.\n\nFindings:\n")
        for n, group in enumerate(g for g in body if g):
            if n:
                out.add("\n")
            out.sentences(group, "findings")
        out.add("\n\nConclusion:\n")
        for n, item in enumerate(impression):
            out.add(("\n" if n else "") + f"{n + 1}. ")
            out.sentences([item], "impression")
    else:
        lung_window: Sentence = ("When examined in the lung parenchyma window;", [])
        out.add("Findings: ")
        out.sentences([*body[0], lung_window, *body[1], *body[2]], "findings")
        out.add(" Impression: ")
        out.sentences(impression, "impression")
    text = "".join(out.parts)
    return PhantomReport(spec.case_id, text, states, tuple(out.mentions))
