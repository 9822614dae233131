"""CSV field size (issue 14): a field over the limit is refused cleanly, naming its line."""

import pytest

from core import csvfile
from core.csvfile import FIELD_LIMIT_CHARS, Columns, FileRejected

COLUMNS = Columns({"code": "code", "name": "name"}, required=("code",))


def test_a_field_over_the_limit_is_refused_naming_the_line():
    text = "code,name\n431001,熊本市\n432024," + "あ" * (FIELD_LIMIT_CHARS + 1) + "\n"
    with pytest.raises(FileRejected) as refused:
        list(csvfile.rows(text, COLUMNS))
    assert refused.value.problems[0]["field"] == "line 3"
    assert f"{FIELD_LIMIT_CHARS:,}" in refused.value.message_en and f"{FIELD_LIMIT_CHARS:,}" in refused.value.message_ja


def test_a_header_over_the_limit_is_refused_too(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text('"' + "x" * (FIELD_LIMIT_CHARS + 1) + '"\n1\n', encoding="utf-8")
    with pytest.raises(FileRejected):
        list(csvfile.stream_rows(path, COLUMNS))


def test_a_field_at_the_limit_is_read():
    text = "code,name\n431001," + "a" * FIELD_LIMIT_CHARS + "\n"
    assert len(list(csvfile.rows(text, COLUMNS))[0].values["name"]) == FIELD_LIMIT_CHARS
