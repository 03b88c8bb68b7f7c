"""The Label Studio labeling config, generated from the label scheme.

Control names are slugs that become JSON keys and CSV columns in exports: ``span`` (the
CLAIM and SOURCE span labels), ``claim`` (the claim choice) and ``stance_<target id>``
(one stance choice per target). The sentence is shown between its neighbours.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from .scheme import CLAIM_LABELS, STANCE_LABELS, Scheme

SENTENCE = "sentence"  # the object tag every control points at
SPAN_CONTROL = "span"
CLAIM_CONTROL = "claim"
SPAN_COLOURS = {"CLAIM": "#ff9900", "SOURCE": "#3399ff"}

_CONTEXT_STYLE = "color:#555; font-style:italic; margin:4px 0"
_SENTENCE_STYLE = "border:2px solid #999; border-radius:4px; padding:8px; margin:8px 0"


def choice_questions(scheme: Scheme) -> dict[str, tuple[str, ...]]:
    """The choice controls of the config and their labels: ``claim``, then ``stance_<target id>``."""
    return {CLAIM_CONTROL: CLAIM_LABELS, **{scheme.stance_control(t): STANCE_LABELS for t in scheme.target_ids}}


def labeling_config(scheme: Scheme) -> str:
    """The labeling config XML for ``scheme``, deterministic to the byte."""
    view = ET.Element("View")
    ET.SubElement(view, "Header", value="$title", size="4")
    ET.SubElement(view, "Text", name="date", value="$date")
    before = ET.SubElement(view, "View", style=_CONTEXT_STYLE)
    ET.SubElement(before, "Text", name="context_before", value="$context_before")
    box = ET.SubElement(view, "View", style=_SENTENCE_STYLE)
    spans = ET.SubElement(box, "Labels", name=SPAN_CONTROL, toName=SENTENCE, showInline="true")
    for label in scheme.span_labels:
        ET.SubElement(spans, "Label", value=label.value, hint=label.definition,
                      background=SPAN_COLOURS.get(label.value, "#999999"))
    ET.SubElement(box, "Text", name=SENTENCE, value="$text", granularity="symbol")
    after = ET.SubElement(view, "View", style=_CONTEXT_STYLE)
    ET.SubElement(after, "Text", name="context_after", value="$context_after")

    ET.SubElement(view, "Header", value="Does the sentence make a claim?", size="5")
    _choices(view, CLAIM_CONTROL, scheme.claim_labels)
    for target in scheme.targets:
        ET.SubElement(view, "Header", value=f"Stance toward: {target.name}", size="5")
        _choices(view, scheme.stance_control(target.id), scheme.stance_labels)
    ET.indent(view, space="  ")
    return ET.tostring(view, encoding="unicode") + "\n"


def _choices(parent: ET.Element, name: str, labels: list) -> None:
    choices = ET.SubElement(parent, "Choices", name=name, toName=SENTENCE,
                            choice="single-radio", showInline="true", required="true")
    for label in labels:
        ET.SubElement(choices, "Choice", value=label.value, hint=label.definition)


def config_fields(config: str) -> set[str]:
    """The task data fields (``$name``) a labeling config reads."""
    root = ET.fromstring(config)
    return {
        match
        for element in root.iter()
        for value in element.attrib.values()
        for match in re.findall(r"\$(\w+)", value)
    }
