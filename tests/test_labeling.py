"""The generated labeling config: slug control names, required choices, context shown."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from annotate.labeling import config_fields, labeling_config
from annotate.scheme import load_scheme


def test_controls_are_slugs_pointing_at_the_sentence():
    root = ET.fromstring(labeling_config(load_scheme()))
    controls = {e.get("name"): e for e in root.iter() if e.tag in ("Choices", "Labels")}
    assert list(controls) == ["span", "claim", "stance_haftar_lna", "stance_gna", "stance_turkey_military"]
    assert all(e.get("toName") == "sentence" for e in controls.values())
    for name, element in controls.items():
        values = [c.get("value") for c in element]
        if name == "span":
            assert element.tag == "Labels" and values == ["CLAIM", "SOURCE"]
        elif name == "claim":
            assert element.get("required") == "true" and values == ["CLAIM", "NO_CLAIM"]
        else:
            assert element.get("required") == "true" and values == ["FAVOR", "AGAINST", "NONE"]
            assert element.get("choice") == "single-radio"


def test_sentence_is_shown_between_its_context():
    config = labeling_config(load_scheme())
    assert config_fields(config) == {"title", "date", "context_before", "text", "context_after"}
    root = ET.fromstring(config)
    texts = [e.get("value") for e in root.iter("Text")]
    assert texts.index("$context_before") < texts.index("$text") < texts.index("$context_after")
    headers = [e.get("value") for e in root.iter("Header")]
    assert "Stance toward: Turkey's military role in Libya" in headers


def test_names_are_unique_and_xml_is_escaped():
    scheme = load_scheme().model_copy(update={"targets": [
        load_scheme().targets[0].model_copy(update={"name": 'A & B <"quoted">'})]})
    root = ET.fromstring(labeling_config(scheme))
    names = [e.get("name") for e in root.iter() if e.get("name")]
    assert len(names) == len(set(names))
    assert 'Stance toward: A & B <"quoted">' in [e.get("value") for e in root.iter("Header")]
