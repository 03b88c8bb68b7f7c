"""The generated labeling config: slug control names, required choices, context shown."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import json

from annotate.labeling import (config_fields, instructions_html, labeling_config, project_config,
                               scheme_from_config, where_to_look)
from annotate.scheme import load_scheme, parse_scheme


def test_controls_are_slugs_pointing_at_the_sentence():
    root = ET.fromstring(labeling_config(load_scheme()))
    controls = {e.get("name"): e for e in root.iter() if e.tag in ("Choices", "Labels")}
    assert list(controls) == ["span", "mention", "claim", "stance_haftar_lna", "stance_gna",
                              "stance_turkey_military"]
    assert all(e.get("toName") == "sentence" for e in controls.values())
    for name, element in controls.items():
        values = [c.get("value") for c in element]
        if name == "span":
            assert element.tag == "Labels" and values == ["CLAIM", "SOURCE"]
        elif name == "mention":  # the highlights' labels: one per target, their buttons hidden
            assert element.tag == "Labels" and values == ["haftar_lna", "gna", "turkey_military"]
        elif name == "claim":
            assert element.get("required") == "true" and values == ["CLAIM", "NO_CLAIM"]
        else:
            assert element.get("required") == "true" and values == ["FAVOR", "AGAINST", "NONE"]
            assert element.get("choice") == "single-radio"


def test_sentence_is_shown_between_its_context():
    config = labeling_config(load_scheme())
    assert config_fields(config) == {"title", "date", "context_before", "text", "context_after", "where_to_look"}
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


def test_the_mention_labels_are_hidden_and_each_question_can_move_first():
    root = ET.fromstring(labeling_config(load_scheme()))
    hidden = next(v for v in root.iter("View") if v.get("style") == "display:none")
    assert [e.get("name") for e in hidden.iter("Labels")] == ["mention"]
    questions = next(v for v in root.iter("View") if v.get("className") == "stance-questions")
    assert [b.get("className") for b in questions] == ["stance-q-haftar_lna", "stance-q-gna", "stance-q-turkey_military"]
    assert "display: flex; flex-direction: column;" in root.find("Style").text
    where = where_to_look(load_scheme(), [{"target": "gna", "text": "GNA"}], ["gna"], ["haftar_lna"])
    assert where.startswith("<style>.stance-q-gna { order: -1; }")
    assert "Named in the context only: Khalifa Haftar and the Libyan National Army (LNA)." in where


def test_the_instructions_page_holds_the_guidelines_every_target_and_every_label():
    scheme = load_scheme()
    page = instructions_html(scheme)
    assert scheme.instructions.replace("'", "&#x27;") in page and "libya-seeds/v1" in page
    for target in scheme.targets:
        assert target.description.replace("'", "&#x27;") in page
        assert all(f"“{alias}”" in page for alias in target.aliases)
    for label in [*scheme.stance_labels, *scheme.claim_labels, *scheme.span_labels]:
        assert f"<b>{label.value}</b>: {label.definition}".replace("'", "&#x27;") in page
    ET.fromstring(f"<div>{page}</div>")  # well-formed


def test_the_project_config_keeps_the_scheme_in_a_comment():
    data = load_scheme().model_dump(mode="json")
    data["targets"][0]["description"] = "dashes -- and --> and <!-- inside"
    scheme = parse_scheme(data)
    config = project_config(scheme)
    comment = config.split("<!--", 1)[1].split("-->", 1)[0]
    assert "--" not in comment
    assert scheme_from_config(config) == scheme
    # the comment changes nothing that Label Studio reads
    from annotate.studio import config_difference

    assert config_difference(labeling_config(scheme), config) is None
    assert scheme_from_config(labeling_config(scheme)) is None
    assert json.loads(comment.split(" ", 2)[2])["id"] == "libya-seeds/v1"


def test_mention_regions_count_offsets_as_label_studio_does():
    from annotate.labeling import mention_regions

    text = "Libya 😀 and Haftar"
    [region] = mention_regions([{"target": "haftar_lna", "start": 12, "end": 18, "text": "Haftar"}], text)
    assert text[12:18] == "Haftar"
    assert (region["value"]["start"], region["value"]["end"]) == (13, 19)  # the emoji is two UTF-16 units
    assert region["readonly"] is True and region["from_name"] == "mention"
