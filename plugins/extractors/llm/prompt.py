"""What the LLM extractor sends: the instructions, the strict JSON schema, and their hash.

The answer shape is one object per finding, keyed by the finding's exact name::

    {"findings": {"Pleural effusion": {"evidence": "Bilateral pleural effusion", "state": "present"}, ...}}

Keying by name (rather than a list of ``{finding, ...}`` items) lets a strict schema *require*
every finding and forbid any other, so a server with real structured output cannot omit or
invent one; servers without it (some vLLM/Ollama set-ups) are caught by validation instead.
``evidence`` comes before ``state`` so the model quotes first and decides second.

The report itself is the whole user message — nothing else — so the prompt hash covers
everything that shapes the answer except the report and the model, which are the cache key's
other two parts.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from radcurate.engine.vocabulary import LabelState, Vocabulary

#: Bump when the prompt's *format* changes in a way the text below does not show.
PROMPT_FORMAT = 1
SCHEMA_NAME = "radcurate_labels"
TEMPERATURE = 0

#: What each CT-RATE finding covers, so the model labels what the dataset means by the name.
HINTS: dict[str, str] = {
    "Medical material": "devices and foreign material: catheters, ports, stents, pacemaker, sternotomy wires, "
    "surgical clips, prostheses",
    "Arterial wall calcification": "calcified atherosclerotic plaques of the aorta or other arteries "
    "(not the coronary arteries)",
    "Cardiomegaly": "enlarged heart",
    "Pericardial effusion": "fluid or thickening of the pericardium",
    "Coronary artery wall calcification": "calcification of the coronary arteries",
    "Hiatal hernia": "hiatal hernia",
    "Lymphadenopathy": "enlarged or pathological lymph nodes (mediastinal, hilar, axillary)",
    "Emphysema": "emphysema of any type (centrilobular, paraseptal, bullous)",
    "Atelectasis": "atelectasis of any extent, including subsegmental and linear atelectasis",
    "Lung nodule": "pulmonary nodules and micronodules",
    "Lung opacity": "ground-glass opacity and other increased lung density",
    "Pulmonary fibrotic sequela": "fibrotic or sequela changes, fibrotic bands, parenchymal scarring",
    "Pleural effusion": "pleural fluid (effusion); pleural thickening alone does not count",
    "Mosaic attenuation pattern": "mosaic attenuation / mosaic perfusion",
    "Peribronchial thickening": "thickening of the bronchial walls or peribronchial interstitium",
    "Consolidation": "consolidation of lung parenchyma",
    "Bronchiectasis": "bronchiectasis of any type",
    "Interlobular septal thickening": "thickening of interlobular septa",
}

INSTRUCTIONS = """\
You label chest CT radiology reports for a research dataset. The user message is one report.
For every finding below, decide exactly one state from what the report says:
- "present": the report says the finding is there (however mild, small or old).
- "absent": the report says it is not there, or that the structure it concerns is normal.
- "uncertain": the report hedges ("possible", "suspicious for", "cannot be excluded", "may represent").
- "not_mentioned": the report says nothing about it.
"evidence" is the shortest phrase from the report that supports the state, copied exactly, character
for character (no paraphrase, no ellipsis); use "" for not_mentioned.
Findings:
"""


#: How each label convention reads words the two conventions read differently (the rule-based
#: extractor's conventions files say the same in phrases): "" entries apply to any vocabulary,
#: the others only when the vocabulary has that finding.
CONVENTIONS: dict[str, dict[str, list[str]]] = {
    "clinical": {
        "": [
            "Label what a radiologist means. A structure said to be normal, normal in size or within normal "
            'limits is "absent" for the finding it would show ("the heart is not enlarged": Cardiomegaly absent).',
            '"Followed", "monitored" or "not followed up" speak of clinical follow-up, not of whether something '
            "is seen.",
            '"No change in X", "no increase in X": X is present.',
        ],
        "Lymphadenopathy": [
            "Lymph nodes of normal size, subcentimetric or within normal limits are absent lymphadenopathy; only "
            "enlarged or pathological nodes are present.",
        ],
        "Peribronchial thickening": ["Bronchial wall thickening counts as peribronchial thickening."],
        "Lung opacity": [
            "A ground-glass nodule is both a lung nodule and a lung opacity; crazy paving is a lung opacity (and "
            "interlobular septal thickening). A density said to be consistent with consolidation or sequelae is "
            "also a lung opacity.",
        ],
        "Arterial wall calcification": ["Calcified plaques of the abdominal aorta count too."],
        "Atelectasis": ["Fibroatelectasis (fibroatelectatic change) is atelectasis and a fibrotic sequela."],
    },
    "ctrate": {
        "": [
            'Follow the CT-RATE annotators\' habits. These reports are translated from Turkish: "followed", '
            '"monitored", "selected", "viewed" and "distinguished" mean observed ("was not followed" = not seen), '
            '"icy" or "frosted glass" density is ground glass, and "natural" means normal.',
            '"No change in X", "no increase in X": X is present.',
        ],
        "Lymphadenopathy": ["Any mediastinal, hilar or axillary lymph node reported as seen counts as present."],
        "Peribronchial thickening": [
            'Only "peribronchial" thickening counts; bronchial wall thickening alone does not.'
        ],
        "Lung opacity": [
            "A ground-glass nodule alone is a lung nodule, not a lung opacity; crazy paving alone is not counted; a "
            "density said to be consistent with consolidation or sequelae is that finding only.",
        ],
        "Arterial wall calcification": ["Plaques only in the abdominal aorta are not counted."],
        "Atelectasis": ["Fibroatelectasis (fibroatelectatic change) is a fibrotic sequela, not atelectasis."],
    },
}
DEFAULT_CONVENTIONS = "clinical"


def instructions(vocabulary: Vocabulary, conventions: str = DEFAULT_CONVENTIONS) -> str:
    """The system message for a vocabulary under label conventions ``clinical`` or ``ctrate``."""
    lines = [f"- {name}: {HINTS[name]}" if name in HINTS else f"- {name}" for name in vocabulary]
    notes = CONVENTIONS[conventions]
    rules = [*notes.get("", []), *(f"{name}: {note}" for name in vocabulary for note in notes.get(name, []))]
    return (
        INSTRUCTIONS
        + "\n".join(lines)
        + f"\nLabel conventions ({conventions}):\n"
        + "\n".join(f"- {rule}" for rule in rules)
        + "\n"
    )


def json_schema(vocabulary: Vocabulary) -> dict[str, Any]:
    """The strict JSON schema of an answer (every finding required, nothing else allowed)."""
    label = {
        "type": "object",
        "properties": {
            "evidence": {"type": "string"},
            "state": {"type": "string", "enum": [s.value for s in LabelState]},
        },
        "required": ["evidence", "state"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "findings": {
                "type": "object",
                "properties": {name: label for name in vocabulary},
                "required": list(vocabulary),
                "additionalProperties": False,
            }
        },
        "required": ["findings"],
        "additionalProperties": False,
    }


def response_format(vocabulary: Vocabulary) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": json_schema(vocabulary)},
    }


def request_body(
    model: str, report: str, vocabulary: Vocabulary, conventions: str = DEFAULT_CONVENTIONS
) -> dict[str, Any]:
    """The chat-completions request for one report (the same body online and in a Batch file)."""
    return {
        "model": model,
        "temperature": TEMPERATURE,
        "messages": [
            {"role": "system", "content": instructions(vocabulary, conventions)},
            {"role": "user", "content": report},
        ],
        "response_format": response_format(vocabulary),
    }


def prompt_hash(vocabulary: Vocabulary, conventions: str = DEFAULT_CONVENTIONS) -> str:
    """16 hex digits of sha256 over the instructions (conventions included), schema, temperature and format."""
    payload = {
        "format": PROMPT_FORMAT,
        "instructions": instructions(vocabulary, conventions),
        "response_format": response_format(vocabulary),
        "temperature": TEMPERATURE,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()[:16]


def cache_key(report_sha256: str, model: str, prompt_hash_: str, endpoint: str = "") -> str:
    """The llm_cache key: sha256 over (report sha256, model, prompt hash, endpoint).

    The endpoint (base URL without credentials) is part of the key: one model name on two servers
    (a quantised build here, the original there) must never share answers.
    """
    return hashlib.sha256(f"{report_sha256}\n{model}\n{prompt_hash_}\n{endpoint}".encode()).hexdigest()


def estimate_tokens(chars: int) -> int:
    """Token estimate for text of ``chars`` characters: chars / 4, rounded up.

    Why a heuristic: an exact count needs the model's own tokenizer (tiktoken files or a Hugging
    Face ``tokenizer.json``), which is not available offline for an arbitrary endpoint's model.
    English prose averages about 4 characters per token with OpenAI's tokenizers; radiology text
    with numbers and Latin terms is a little denser, so expect the estimate to run ~10-20% low.
    """
    return -(-int(chars) // 4)


def estimate_output_tokens(vocabulary: Vocabulary) -> int:
    """Expected answer length: the JSON scaffolding plus a short quote per finding (~30 tokens each)."""
    return 8 + 30 * len(vocabulary)
