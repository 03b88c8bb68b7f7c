"""The Label Studio labeling config and instructions page, generated from the label scheme.

Control names are slugs that become JSON keys and CSV columns in exports: ``span`` (the
CLAIM and SOURCE span labels), ``claim`` (the claim choice) and ``stance_<target id>``
(one stance choice per target). The sentence is shown between its neighbours.

Where to look: each mention of a target (see :mod:`annotate.mentions`) is a pre-annotated,
read-only region of the ``mention`` control, labelled with its target id (the control's
buttons are hidden, so annotators cannot add or need to remove any), and the task's
``where_to_look`` field (rendered inline) names the targets mentioned and moves their stance
questions first with a per-task style rule. The reader ignores ``mention`` regions.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence

from .scheme import CLAIM_LABELS, STANCE_LABELS, Scheme

SENTENCE = "sentence"  # the object tag every control points at
SPAN_CONTROL = "span"
CLAIM_CONTROL = "claim"
MENTION_CONTROL = "mention"
WHERE_TO_LOOK = "where_to_look"
SPAN_COLOURS = {"CLAIM": "#ff9900", "SOURCE": "#3399ff"}
MENTION_COLOURS = ("#b3e5fc", "#c8e6c9", "#ffe0b2", "#e1bee7", "#fff59d", "#f8bbd0", "#d7ccc8", "#cfd8dc")
MENTIONS_MODEL = "stance-mentions"  # the model_version of the mention pre-annotations

_CONTEXT_STYLE = "color:#555; font-style:italic; margin:4px 0"
_SENTENCE_STYLE = "border:2px solid #999; border-radius:4px; padding:8px; margin:8px 0"
_QUESTIONS_CLASS = "stance-questions"
_STYLE = (f".{_QUESTIONS_CLASS} {{ display: flex; flex-direction: column; }} "
          ".stance-where { margin: 4px 0 8px 0; } .stance-where mark { padding: 0 2px; border-radius: 3px; }")


def choice_questions(scheme: Scheme) -> dict[str, tuple[str, ...]]:
    """The choice controls of the config and their labels: ``claim``, then ``stance_<target id>``."""
    return {CLAIM_CONTROL: CLAIM_LABELS, **{scheme.stance_control(t): STANCE_LABELS for t in scheme.target_ids}}


def question_class(target_id: str) -> str:
    """The CSS class of a target's stance question block."""
    return f"stance-q-{target_id}"


def mention_colour(scheme: Scheme, target_id: str) -> str:
    return MENTION_COLOURS[scheme.target_ids.index(target_id) % len(MENTION_COLOURS)]


def labeling_config(scheme: Scheme) -> str:
    """The labeling config XML for ``scheme``, deterministic to the byte."""
    view = ET.Element("View")
    ET.SubElement(view, "Style").text = _STYLE
    ET.SubElement(view, "Header", value="$title", size="4")
    ET.SubElement(view, "Text", name="date", value="$date")
    before = ET.SubElement(view, "View", style=_CONTEXT_STYLE)
    ET.SubElement(before, "Text", name="context_before", value="$context_before")
    box = ET.SubElement(view, "View", style=_SENTENCE_STYLE)
    spans = ET.SubElement(box, "Labels", name=SPAN_CONTROL, toName=SENTENCE, showInline="true")
    for label in scheme.span_labels:
        ET.SubElement(spans, "Label", value=label.value, hint=label.definition,
                      background=SPAN_COLOURS.get(label.value, "#999999"))
    hidden = ET.SubElement(box, "View", style="display:none")
    mentions = ET.SubElement(hidden, "Labels", name=MENTION_CONTROL, toName=SENTENCE, showInline="true")
    for target in scheme.targets:
        ET.SubElement(mentions, "Label", value=target.id, hint=f"a mention of {target.name}",
                      background=mention_colour(scheme, target.id))
    ET.SubElement(box, "Text", name=SENTENCE, value="$text", granularity="symbol")
    after = ET.SubElement(view, "View", style=_CONTEXT_STYLE)
    ET.SubElement(after, "Text", name="context_after", value="$context_after")
    ET.SubElement(view, "HyperText", name=WHERE_TO_LOOK, value=f"${WHERE_TO_LOOK}", inline="true")

    ET.SubElement(view, "Header", value="Does the sentence make a claim?", size="5")
    _choices(view, CLAIM_CONTROL, scheme.claim_labels)
    questions = ET.SubElement(view, "View", className=_QUESTIONS_CLASS)
    for target in scheme.targets:
        block = ET.SubElement(questions, "View", className=question_class(target.id))
        ET.SubElement(block, "Header", value=f"Stance toward: {target.name}", size="5")
        _choices(block, scheme.stance_control(target.id), scheme.stance_labels)
    ET.indent(view, space="  ")
    return ET.tostring(view, encoding="unicode") + "\n"


def _choices(parent: ET.Element, name: str, labels: list) -> None:
    choices = ET.SubElement(parent, "Choices", name=name, toName=SENTENCE,
                            choice="single-radio", showInline="true", required="true")
    for label in labels:
        ET.SubElement(choices, "Choice", value=label.value, hint=label.definition)


def config_fields(config: str) -> set[str]:
    """The task data fields (``$name``) a labeling config reads (in ``value`` attributes)."""
    root = ET.fromstring(config)
    return {match for element in root.iter() for match in re.findall(r"^\$(\w+)$", element.get("value", ""))}


# --- per task: where to look --------------------------------------------------------------

def where_to_look(scheme: Scheme, mentions: Sequence[Mapping], mentioned: Sequence[str],
                  in_context: Sequence[str]) -> str:
    """The task's ``where_to_look`` HTML: the targets mentioned, their questions moved first.

    >>> from annotate.scheme import load_scheme
    >>> where_to_look(load_scheme(), [], [], [])
    '<div class="stance-where">No target is named in this sentence.</div>'
    """
    parts = []
    if mentioned:
        order = "".join(f".{question_class(t)} {{ order: -1; }} "
                        f".{question_class(t)} .lsf-header, .{question_class(t)} h5 {{ font-weight: 700; }} "
                        for t in mentioned)
        parts.append(f"<style>{order.strip()}</style>")
        named = []
        for t in mentioned:
            words = sorted({m["text"] for m in mentions if m["target"] == t}, key=lambda w: (w.lower(), w))
            quoted = ", ".join(f"“{html.escape(w)}”" for w in words)
            named.append(f'<mark style="background:{mention_colour(scheme, t)}">{html.escape(t)}</mark> '
                         f"{html.escape(scheme.target[t].name)} ({quoted})")
        line = "Named in this sentence (its questions come first): " + "; ".join(named) + "."
    else:
        line = "No target is named in this sentence."
    if in_context:
        line += " Named in the context only: " + ", ".join(html.escape(scheme.target[t].name) for t in in_context) + "."
    parts.append(f'<div class="stance-where">{line}</div>')
    return "".join(parts)


_WIDE = re.compile("[\U00010000-\U0010FFFF]")  # characters that are two UTF-16 code units


def utf16_units(text: str) -> Callable[[int], int]:
    """Label Studio's offset (UTF-16 code units, as the browser counts) of each character offset of ``text``.

    >>> utf16_units("a😀b")(2)
    3
    """
    if text.isascii():
        return _same
    wide = [m.start() for m in _WIDE.finditer(text)]
    return lambda offset: offset + sum(1 for i in wide if i < offset)


def _same(offset: int) -> int:
    return offset


def mention_regions(mentions: Sequence[Mapping], text: str) -> list[dict]:
    """The ``mention`` regions of a task's mentions: a pre-annotation, read-only, one per mention.

    Label Studio counts offsets in UTF-16 code units (as the browser does), so a mention after
    a character outside the BMP moves by one unit per such character.
    """
    units = utf16_units(text)
    return [{
        "id": f"mention-{m['start']}-{m['end']}",
        "from_name": MENTION_CONTROL, "to_name": SENTENCE, "type": "labels", "readonly": True,
        "value": {"start": units(m["start"]), "end": units(m["end"]), "text": m["text"], "labels": [m["target"]]},
    } for m in mentions]


def mentions_prediction(mentions: Sequence[Mapping], text: str, scheme: Scheme) -> dict:
    """The pre-annotation that highlights a task's mentions."""
    return {"model_version": f"{MENTIONS_MODEL}@{scheme.id}", "score": 1.0, "result": mention_regions(mentions, text)}


# --- the project's instructions page ------------------------------------------------------

def instructions_html(scheme: Scheme) -> str:
    """Label Studio's ``expert_instruction`` for the scheme: guidelines, targets, labels."""
    e = html.escape
    out = [f"<h2>{e(scheme.name)}</h2>", f"<p><small>scheme {e(scheme.id)}</small></p>"]
    if scheme.instructions:
        out.append("".join(f"<p>{e(p.strip())}</p>" for p in scheme.instructions.split("\n\n") if p.strip()))
    out.append("<h3>Targets</h3><p>Where a sentence names a target, the name is highlighted in the sentence "
               "and that target's stance question comes first.</p><ul>")
    for target in scheme.targets:
        found = [f"“{e(a)}”" for a in target.aliases] + [f"<code>{e(p)}</code>" for p in target.patterns]
        found_text = f" <br/><small>Found by: {', '.join(found)}</small>" if found else ""
        out.append(f"<li><b>{e(target.name)}</b> <small>({e(target.id)})</small>: {e(target.description)}"
                   f"{found_text}</li>")
    out.append("</ul>")
    for title, labels in (("Stance toward each target", scheme.stance_labels),
                          ("Does the sentence make a claim?", scheme.claim_labels),
                          ("Spans to mark", scheme.span_labels)):
        out.append(f"<h3>{e(title)}</h3><ul>")
        out.extend(f"<li><b>{e(label.value)}</b>: {e(label.definition)}</li>" for label in labels)
        out.append("</ul>")
    return "".join(out)


# --- the scheme, stored with the project ----------------------------------------------------

_SCHEME_MARK = "stance-scheme"
_STORED = re.compile(r"<!--\s*" + _SCHEME_MARK + r"\s+(.*?)\s*-->", re.DOTALL)
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def project_config(scheme: Scheme) -> str:
    """The labeling config of a project, with the scheme itself kept in it as an XML comment.

    The comment travels with the project (Label Studio stores the config as written, and a
    restart keeps it), so ``stance pull`` and ``load-labels`` find the scheme from the project.
    A comment cannot hold ``--``, so every ``-`` in the JSON's strings is written ``\\u002d``.
    """
    text = json.dumps(scheme.model_dump(mode="json"), ensure_ascii=True, sort_keys=True)
    text = _JSON_STRING.sub(lambda m: m.group().replace("-", "\\u002d"), text)
    config = labeling_config(scheme)
    return config.replace("<View>", f"<View>\n  <!-- {_SCHEME_MARK} {text} -->", 1)


def scheme_from_config(config: str | None) -> Scheme | None:
    """The scheme a project's config keeps (see :func:`project_config`), or None for a config without one."""
    from .scheme import parse_scheme

    match = _STORED.search(config or "")
    if match is None:
        return None
    try:
        data = json.loads(match.group(1))
    except json.JSONDecodeError:
        return None
    return parse_scheme(data, path=None)
