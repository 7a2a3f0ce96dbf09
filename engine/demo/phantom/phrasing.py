"""The phrase bank phantom reports are written from: per finding, how a radiologist says it is
present, absent (negated), or uncertain, in the findings section and in the impression.

Phrasings mix CT-RATE's translated style ("Pleural effusion-thickening was not detected") with
common English usage and synonyms an extractor must know ("enlarged heart", "atheromatous
calcified plaques", "LAPs", "ground glass density"). Placeholders (``{lungs}``, ``{size}``, ...)
are filled from the finding's plan by :func:`facts`; every sentence states exactly one finding's
state, except the grouped normal statements in :data:`GROUPED_NEGATIONS`.

Present sentences carry no negation or hedge word; uncertain ones always carry a hedge
("possible", "cannot be excluded", "may", "questionable", "suspicious", "borderline").
"""

from __future__ import annotations

from typing import Any

PRESENT, ABSENT, UNCERTAIN, IMPRESSION = "present", "absent", "uncertain", "impression"

BANK: dict[str, dict[str, list[str]]] = {
    "Medical material": {
        ABSENT: ["No catheter, device or other medical material is seen.", "No foreign material is identified."],
    },
    "Arterial wall calcification": {
        PRESENT: [
            "Atheromatous calcified plaques are observed in the aorta.",
            "{Extent} calcific atherosclerotic changes are seen in the wall of the thoracic aorta.",
            "Calcified atherosclerotic plaques were seen in the aortic arch and descending aorta.",
        ],
        IMPRESSION: ["Aortic atherosclerosis.", "Atherosclerotic calcifications in the thoracic aorta."],
        ABSENT: ["No calcified plaque was seen in the thoracic aorta.", "The aortic wall shows no calcification."],
        UNCERTAIN: ["A faint density in the aortic wall may represent an early calcified plaque."],
    },
    "Cardiomegaly": {
        PRESENT: ["The heart is enlarged.", "{Degree} cardiomegaly is observed.", "Heart size is increased."],
        IMPRESSION: ["Cardiomegaly.", "Enlarged heart."],
        ABSENT: [
            "Mediastinal main vascular structures, heart contour, size are normal.",
            "Heart size is normal.",
            "No cardiomegaly.",
        ],
        UNCERTAIN: ["Heart size is at the upper limit of normal; borderline cardiomegaly cannot be excluded."],
    },
    "Pericardial effusion": {
        PRESENT: [
            "Pericardial effusion reaching {thickness} mm in thickness is observed.",
            "There is fluid in the pericardial space measuring up to {thickness} mm.",
            "A pericardial effusion is present.",
        ],
        IMPRESSION: ["Pericardial effusion.", "Pericardial effusion ({thickness} mm)."],
        ABSENT: ["Pericardial effusion-thickening was not observed.", "No pericardial effusion."],
        UNCERTAIN: ["Minimal pericardial effusion cannot be excluded."],
    },
    "Coronary artery wall calcification": {
        PRESENT: [
            "Calcified plaques are seen in the coronary arteries ({vessels}).",
            "Coronary artery calcifications are noted in the {vessels}.",
            "There are calcific atherosclerotic changes in the {vessels} coronary artery walls.",
        ],
        IMPRESSION: ["Coronary artery calcification.", "Coronary atherosclerosis ({vessels})."],
        ABSENT: ["No coronary artery calcification is seen."],
        UNCERTAIN: ["Possible faint calcification along the {vessels}."],
    },
    "Hiatal hernia": {
        PRESENT: [
            "A {size} hiatal hernia is observed.",
            "Part of the stomach has herniated into the thorax through the esophageal hiatus.",
            "A {size} sliding hiatal hernia is present behind the heart.",
        ],
        IMPRESSION: ["Hiatal hernia.", "{Size} hiatal hernia."],
        ABSENT: ["No hiatal hernia is seen."],
        UNCERTAIN: ["Possible small hiatal hernia."],
    },
    "Lymphadenopathy": {
        PRESENT: [
            "Enlarged lymph nodes are seen at the {stations} {station_s}, the largest measuring {short_axis} mm "
            "in short axis.",
            "There are lymph nodes of pathological size at the {stations} {station_s}, up to {short_axis} × "
            "{long_axis} mm.",
            "Multiple LAPs are present ({stations}), the largest {short_axis} mm.",
        ],
        IMPRESSION: ["Lymphadenopathy ({stations}).", "Pathologically enlarged lymph nodes ({stations})."],
        ABSENT: [
            "No enlarged lymph nodes were detected in prevascular, pre-paratracheal, subcarinal or bilateral "
            "hilar-axillary pathological dimensions.",
            "No mediastinal or hilar lymphadenopathy.",
        ],
        UNCERTAIN: ["Possible {station} lymphadenopathy.", "{Station} lymphadenopathy cannot be excluded."],
    },
    "Emphysema": {
        PRESENT: [
            "{Kind} emphysematous changes are seen in both lungs, predominantly in the upper lobes.",
            "{Severity} {kind} emphysema is present.",
            "There are areas of emphysema in the upper lobes of both lungs.",
        ],
        IMPRESSION: ["Emphysema.", "{Kind} emphysema."],
        ABSENT: ["No emphysema.", "No emphysematous change is seen."],
        UNCERTAIN: ["Subtle low-attenuation areas in the upper lobes are suspicious for early emphysema."],
    },
    "Atelectasis": {
        PRESENT: [
            "{Kind} atelectasis is observed in {lower_lobes}.",
            "There is atelectasis in the posterobasal segment of {lower_lobes}.",
            "Dependent {kind} atelectasis in {lower_lobes}.",
        ],
        IMPRESSION: ["Atelectasis in {lower_lobes}.", "{Kind} atelectasis."],
        ABSENT: ["No atelectasis."],
        UNCERTAIN: ["A band of density at the base of {lungs} may represent atelectasis."],
    },
    "Lung nodule": {
        PRESENT: [
            "A solid nodule measuring {size} mm is observed in {lobe}.",
            "There is a {size} mm nodule in {lobe}.",
            "{Nodules} {size} mm in {lobe}.",
        ],
        IMPRESSION: ["Pulmonary nodule ({size} mm); follow-up is recommended.", "Nodule in {lobe}."],
        ABSENT: ["No pulmonary nodule.", "No nodular lesion is detected in the lung parenchyma."],
        UNCERTAIN: [
            "A {size} mm focus in {lobe} is possibly a small nodule.",
            "A small nodule cannot be excluded in {lobe}.",
        ],
    },
    "Lung opacity": {
        PRESENT: [
            "Ground-glass opacities are observed in {lungs}.",
            "Areas of ground glass density are seen in {lungs}.",
            "There is increased parenchymal density of ground-glass character in {lungs}.",
        ],
        IMPRESSION: ["Ground-glass opacities in {lungs}.", "Ground glass areas in {lungs}."],
        ABSENT: ["No ground-glass opacity."],
        UNCERTAIN: ["Possible faint ground-glass opacity in {lungs}."],
    },
    "Pulmonary fibrotic sequela": {
        PRESENT: [
            "Fibrotic sequelae are seen in {lobe_of}.",
            "Pleuroparenchymal sequelae densities are present in {lobe_of}.",
            "Parenchymal fibrotic bands are noted in {lungs}.",
        ],
        IMPRESSION: ["Fibrotic sequelae in {lungs}.", "Sequelae changes in {lungs}."],
        ABSENT: ["No fibrotic sequelae."],
        UNCERTAIN: ["Linear densities in {lungs} may represent fibrotic sequelae."],
    },
    "Pleural effusion": {
        PRESENT: [
            "{Amount} {side_adj} pleural effusion is observed.",
            "There is {amount} pleural effusion on the {side_noun}.",
            "A {amount} amount of fluid is seen in {pleural_space}.",
        ],
        IMPRESSION: ["{Side_adj} pleural effusion.", "{Amount} {side_adj} pleural effusion."],
        ABSENT: ["Pleural effusion-thickening was not detected.", "No pleural effusion.", "There is no pleural fluid."],
        UNCERTAIN: [
            "Minimal {side_adj} pleural effusion cannot be ruled out.",
            "Questionable minimal {side_adj} pleural effusion.",
        ],
    },
    "Mosaic attenuation pattern": {
        PRESENT: [
            "A mosaic attenuation pattern is seen in both lungs.",
            "Mosaic perfusion pattern in both lungs, suggesting small airway disease.",
            "There are areas of air trapping with a mosaic attenuation pattern.",
        ],
        IMPRESSION: ["Mosaic attenuation pattern."],
        ABSENT: ["No mosaic attenuation."],
        UNCERTAIN: ["A possible mosaic attenuation pattern is noted."],
    },
    "Peribronchial thickening": {
        PRESENT: [
            "Peribronchial thickening is observed in both lungs.",
            "Bronchial wall thickening is noted bilaterally.",
            "There is peribronchial cuffing in both lungs.",
        ],
        IMPRESSION: ["Peribronchial thickening.", "Bronchial wall thickening."],
        ABSENT: ["No peribronchial thickening.", "Bronchial walls are of normal thickness."],
        UNCERTAIN: ["Possible mild peribronchial thickening."],
    },
    "Consolidation": {
        PRESENT: [
            "An area of consolidation with air bronchograms is seen in {lobe}.",
            "Consolidation is observed in {lobe}.",
            "There is airspace consolidation in {lobe}.",
        ],
        IMPRESSION: ["Consolidation in {lobe}, compatible with pneumonia.", "Pneumonic consolidation in {lobe}."],
        ABSENT: ["No consolidation."],
        UNCERTAIN: ["Early consolidation cannot be excluded in {lobe}."],
    },
    "Bronchiectasis": {
        PRESENT: [
            "{Kind} bronchiectasis is seen in {lower_lobes}.",
            "Bronchiectatic changes are observed in {lower_lobes}.",
            "Dilated bronchi are noted in {lower_lobes}, consistent with bronchiectasis.",
        ],
        IMPRESSION: ["Bronchiectasis.", "{Kind} bronchiectasis in {lower_lobes}."],
        ABSENT: ["No bronchiectasis."],
        UNCERTAIN: ["Mild bronchial dilatation in {lower_lobes}, possibly early bronchiectasis."],
    },
    "Interlobular septal thickening": {
        PRESENT: [
            "Interlobular septal thickening is observed {zone}.",
            "Thickened interlobular septa are seen {zone}.",
            "Smooth interlobular septal thickening is present {zone}.",
        ],
        IMPRESSION: ["Interlobular septal thickening.", "Septal thickening {zone}."],
        ABSENT: ["No interlobular septal thickening."],
        UNCERTAIN: ["Possible subtle interlobular septal thickening {zone}."],
    },
}

DEVICES: dict[str, tuple[list[str], list[str]]] = {  # device -> (findings sentences, impression)
    "port catheter": (
        [
            "A port catheter is seen in the right anterior chest wall, its tip in the right atrium.",
            "A central venous port is present with its catheter extending through the superior vena cava.",
        ],
        ["Port catheter in place.", "Central venous port."],
    ),
    "pacemaker": (
        [
            "A pacemaker generator is seen in the left anterior chest wall with its lead in the right ventricle.",
            "Cardiac pacemaker with a lead extending to the right heart chambers.",
        ],
        ["Pacemaker in place.", "Cardiac pacemaker."],
    ),
    "sternotomy wires": (
        ["Median sternotomy wires are noted.", "Sternotomy wires from previous cardiac surgery are observed."],
        ["Status post median sternotomy with sternal wires.", "Sternotomy wires."],
    ),
    "aortic stent": (
        ["A stent graft is present in the descending thoracic aorta.", "An endovascular aortic stent is seen."],
        ["Descending aortic stent graft.", "Aortic stent in place."],
    ),
}

# Normal statements that negate several findings at once; used only when all are absent.
GROUPED_NEGATIONS: list[tuple[str, tuple[str, ...]]] = [
    (
        "Aeration of both lung parenchyma is normal and no nodular or infiltrative lesion is detected in "
        "the lung parenchyma.",
        ("Lung nodule", "Consolidation", "Lung opacity"),
    ),
    ("No pleural or pericardial effusion.", ("Pleural effusion", "Pericardial effusion")),
    (
        "No calcified atherosclerotic plaque is seen in the aorta or the coronary arteries.",
        ("Arterial wall calcification", "Coronary artery wall calcification"),
    ),
    (
        "The lungs are clear without consolidation, ground-glass opacity or atelectasis.",
        ("Consolidation", "Lung opacity", "Atelectasis"),
    ),
]

FILLERS = {
    "airway": ["Trachea, both main bronchi are open.", "The trachea and main bronchi are patent."],
    "mediastinum": ["Thoracic aorta diameter is normal.", "Thoracic esophageal calibration was normal."],
    "abdomen": [
        "Upper abdominal organs included in the sections are normal.",
        "No space-occupying lesion was detected in the liver that entered the cross-sectional area.",
        "Bilateral adrenal glands were normal.",
    ],
    "bones": ["Bone structures in the study area are natural.", "Vertebral corpus heights are preserved."],
}

NORMAL_IMPRESSIONS = ["Thoracic CT examination within normal limits.", "No acute cardiopulmonary abnormality."]


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def facts(plan: dict[str, Any]) -> dict[str, str]:
    """Placeholder values for one finding's phrases, from its plan (lower-case; ``{Key}`` capitalised)."""
    side = plan.get("side", "bilateral")
    lobe = plan.get("lobe", "lower")
    out = {
        "lungs": "both lungs" if side == "bilateral" else f"the {side} lung",
        "lower_lobes": "both lower lobes" if side == "bilateral" else f"the {side} lower lobe",
        "lobe": "the lower lobes of both lungs" if side == "bilateral" else f"the {side} lung {lobe} lobe",
        "lobe_of": f"the {lobe} lobes of both lungs" if side == "bilateral" else f"the {lobe} lobe of the {side} lung",
        "side_adj": "bilateral" if side == "bilateral" else f"{side}-sided",
        "pleural_space": "both pleural spaces" if side == "bilateral" else f"the {side} pleural space",
        "side_noun": "both sides" if side == "bilateral" else f"{side} side",
        "amount": plan.get("amount", "small"),
        "size": str(plan.get("size_mm", "")),
        "nodules": "a nodule is seen measuring",
        "thickness": str(plan.get("thickness_mm", "")),
        "kind": plan.get("kind", ""),
        "severity": plan.get("severity", "mild"),
        "degree": plan.get("degree", "mild"),
        "extent": plan.get("extent", "scattered"),
        "vessels": _join(list(plan.get("vessels", ["LAD"]))),
        "stations": _join(list(plan.get("stations", ["subcarinal"]))),
        "station": list(plan.get("stations", ["subcarinal"]))[0],
        "station_s": "station",
        "short_axis": str(plan.get("short_axis_mm", "")),
        "long_axis": str(round(plan.get("short_axis_mm", 10) * 1.4)),
        "zone": "in the lung bases" if plan.get("zone") == "basal" else "in both lungs",
        "size_word": plan.get("size", "small"),
    }
    out["size"] = out["size"] if "size_mm" in plan else out["size_word"]
    if plan.get("side") == "bilateral" and "lobe" in plan:
        out["lobe"] = f"the {lobe} lobes of both lungs"
    if plan.get("count", 1) > 1:
        out["nodules"] = f"{plan['count']} nodules are seen, the largest measuring"
    if len(plan.get("stations", [])) > 1:
        out["station_s"] = "stations"
    out.update({k[0].upper() + k[1:]: v[:1].upper() + v[1:] for k, v in list(out.items())})
    return out
