"""Reading articles: the seed format, folders, JSON lines and CSV, with exact text."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest

from annotate.corpus import CsvColumns, Rejected, iter_articles, split_credit
from annotate.errors import InputError

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "seeds"
SHARED_SEEDS = REPO.parent / "shared" / "seeds"


def test_seeds_are_the_shared_seeds_byte_for_byte():
    ours = sorted(p.name for p in SEEDS.glob("*.txt"))
    assert ours == ["000_2e743664b03188b8.txt", "004_4c9b530dd287076b.txt"]
    if SHARED_SEEDS.is_dir():
        for name in ours:
            assert (SEEDS / name).read_bytes() == (SHARED_SEEDS / name).read_bytes()


def test_seed_articles_have_id_date_credit_and_exact_text():
    first, second = iter_articles([SEEDS])
    raw = (SEEDS / "000_2e743664b03188b8.txt").read_text(encoding="utf-8")
    assert first.id == "000_2e743664b03188b8"
    assert first.date == dt.date(2019, 12, 28)
    assert first.credit == "Xinhau"
    assert raw == " date 2019-12-28 " + first.text + " Xinhau"
    assert first.text.endswith("will take place in the coming months.")
    assert first.sha256 == hashlib.sha256(first.text.encode()).hexdigest()
    assert first.origin.file == str(SEEDS / "000_2e743664b03188b8.txt") and first.origin.line == 1

    raw = (SEEDS / "004_4c9b530dd287076b.txt").read_text(encoding="utf-8")
    assert second.date == dt.date(2020, 12, 7)
    assert second.credit is None
    assert second.text == raw.removeprefix(" date 2020-12-07 ")
    assert "\n\n" in second.text and "“States shoulder responsibilities,”" in second.text


@pytest.mark.parametrize("text, body, credit", [
    ("It will end soon. Xinhau", "It will end soon.", "Xinhau"),
    ("He said “no.” AFP\n", "He said “no.”", "AFP"),
    ("Talks go on. The Washington Post", "Talks go on.", "The Washington Post"),
    ("Talks go on. Reuters reported", "Talks go on. Reuters reported", None),  # lower case: text
    ("Talks go on. Four Capitalised Words Here", "Talks go on. Four Capitalised Words Here", None),
    ("Talks go on.", "Talks go on.", None),
    ("Xinhau", "Xinhau", None),  # nothing before it ends a sentence
])
def test_trailing_credit(text, body, credit):
    assert split_credit(text) == (body, credit)


def test_folder_is_read_recursively_in_path_order_skipping_hidden(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "b" / "z.txt").write_text(" date 2020-01-02 Zed.")
    (tmp_path / "a.txt").write_text(" date 2020-01-01 Ay.")
    (tmp_path / ".hidden" / "h.txt").write_text(" date 2020-01-01 Hidden.")
    (tmp_path / "README.md").write_text("not an article")
    assert [a.id for a in iter_articles([tmp_path])] == ["a", "z"]


def test_jsonl_fields_and_crlf_kept(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(
        '{"id": 12, "text": "One.\\r\\nTwo.", "date": "2021-03-04T10:00:00Z", "title": "T", '
        '"source": "S", "url": "https://example.org/a", "extra": 1}\n\n', encoding="utf-8")
    (article,) = iter_articles([path])
    assert article.id == "12"
    assert article.text == "One.\r\nTwo."
    assert article.date == dt.date(2021, 3, 4)
    assert (article.title, article.source, article.url) == ("T", "S", "https://example.org/a")
    assert article.origin.line == 1


def test_csv_quoted_multiline_fields_with_origin_rows(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b'Body ID,articleBody,when\r\n1,"First para.\r\n\r\nSecond, with comma."'
                     b',2020-05-06\r\n2,Plain one.,\r\n')
    columns = CsvColumns(text="articleBody", id="Body ID", date="when")
    first, second = iter_articles([path], columns=columns)
    assert first.text == "First para.\r\n\r\nSecond, with comma."
    assert first.date == dt.date(2020, 5, 6) and second.date is None
    assert (first.origin.row, first.origin.line) == (1, 2)
    assert (second.origin.row, second.origin.line) == (2, 5)


def test_bom_is_not_text(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbf date 2020-01-01 Text.")
    (article,) = iter_articles([path])
    assert article.text == "Text."


def test_lone_surrogate_in_json_is_rejected(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "a", "text": "bad \\ud800 here"}\n')
    with pytest.raises(InputError, match=r"lone surrogate '\\ud800' at character 4"):
        list(iter_articles([path]))


def test_every_record_is_accepted_or_rejected(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "a", "text": "A."}\n[1]\n{"id": "b"}\n{"id": "c", "text": 5}\n'
                    '{"id": "d", "text": "D.", "date": "yesterday"}\n{"id": "e", "text": "E."}\n')
    rejects: list[Rejected] = []
    accepted = [a.id for a in iter_articles([path], on_reject=rejects.append)]
    assert accepted == ["a", "e"]
    assert [r.error.problem for r in rejects] == [
        "a JSON list, not an object", "no 'text' field", "'text' is a JSON int, not a string",
        "date 'yesterday' is not an ISO date"]
