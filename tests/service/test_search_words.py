"""The catalogue's search words in the monthly report (issue 39, item 5): each CKAN ``package_search``
counts its words (counts only: word, day, times), a failure to count never fails the search, and the
month's report names exactly the words searched at least the minimum, with their times counted here
from the searches the test made; a word searched fewer times appears nowhere (page, workbook, PDF)."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
from collections import Counter

import sqlalchemy as sa

from core.calendar import JST
from service import monthly_report, search_words, settings
from service.models import SearchWordCount
from tests.billing.test_statement_documents import pdf_text

MONTH = dt.date(2026, 3, 1)
COMMON = ["避難所", "aed", "バス停", "人口", "観光", "公園"]
RARE = ["ひみつ語いち", "ひみつ語に", "ひみつ語さん"]  # each searched fewer than 5 times


def _at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(MONTH.year, MONTH.month, day, hour, tzinfo=JST)


def _searches() -> tuple[list[tuple[str, dt.datetime]], Counter]:
    """Generated searches of the month (q, when) and the times each word was searched, counted here."""
    chance = random.Random(39)
    made: list[tuple[str, dt.datetime]] = []
    expected: Counter = Counter()
    for n in range(120):
        words = chance.sample(COMMON, chance.randint(1, 3))
        made.append((" ".join(words), _at(1 + n % 28, n % 24)))
        expected.update(words)
    for times, word in zip((1, 4, 2), RARE):
        for n in range(times):
            made.append((word, _at(2 + n, 10)))
        expected[word] += times
    # the forms of a query: full-width Latin read as half-width, a field of the text counted, a filter and a
    # word excluded not, a word twice in one search once
    made += [("ＡＥＤ", _at(5, 9)), ("title:公園 organization:431001", _at(6, 9)), ("人口 NOT 観光", _at(7, 9)),
             ("避難所 避難所", _at(8, 9)), ("", _at(9, 9))]
    expected.update(["aed", "公園", "人口", "避難所"])
    # the days around the month (Japan time): not this month's
    made += [("観光", dt.datetime(2026, 2, 28, 23, 59, tzinfo=JST)), ("観光", dt.datetime(2026, 4, 1, 0, 0, tzinfo=JST))]
    return made, expected


def test_the_words_of_a_query_are_read_as_the_console_reads_a_query():
    assert search_words.words_of("  ＡＥＤ　設置場所 ") == ["aed", "設置場所"]
    assert search_words.words_of('"バス 停留所" OR title:時刻表') == ["バス", "停留所", "時刻表"]
    assert search_words.words_of("organization:431001 res_format:CSV -観光") == []
    assert search_words.words_of("(unclosed") == [] and search_words.words_of(None) == []


def test_the_report_names_exactly_the_words_searched_at_least_the_minimum(db, operator, client, tmp_path):
    from openpyxl import load_workbook

    from tests.conftest import sign_in

    made, expected = _searches()
    for q, at in made:
        search_words.count(db, q, now=at.astimezone(dt.timezone.utc))
    db.commit()
    shown = sorted(((word, times) for word, times in expected.items() if times >= 5), key=lambda item: (-item[1], item[0]))
    omitted = [word for word, times in expected.items() if times < 5]
    assert set(omitted) == set(RARE) and len(shown) == len(COMMON)

    found = monthly_report.figures(db, operator, MONTH, None)
    assert (found.search_words.minimum, found.search_words.top) == (5, shown)
    row = monthly_report.write(db, operator, MONTH, None)
    db.commit()
    assert json.loads(row.figures)["search_words"] == [list(item) for item in shown]

    book = load_workbook(io.BytesIO(row.xlsx))
    assert [tuple(r) for r in book["よく検索された語"].iter_rows(min_row=4, values_only=True)] == shown
    cells = " ".join(str(cell) for sheet in book.worksheets for r in sheet.iter_rows(values_only=True) for cell in r)
    text = pdf_text(row.pdf, tmp_path)
    assert "よく検索された語" in text and all(word in text for word, _times in shown)
    sign_in(client, roles=("auditor",), csrf="words-csrf")
    page = client.get("/admin/service/monthly-reports/").get_data(as_text=True)
    assert all(f"{word} ({times})" in page for word, times in shown)
    for word in omitted:
        assert word not in cells and word not in text and word not in page and word not in row.figures

    # the minimum is the service setting: at 2, the words searched twice or more are named too
    settings.save(db, operator, settings.SettingsDraft(9950, 5, True, 9, 17, search_words_minimum=2))
    db.commit()
    again = [word for word, _times in monthly_report.figures(db, operator, MONTH, None).search_words.top]
    assert "ひみつ語に" in again and "ひみつ語さん" in again and "ひみつ語いち" not in again


def test_a_catalogue_search_counts_its_words_and_a_failure_to_count_never_fails_it(client, db, monkeypatch):
    def times(word: str) -> int:
        return int(db.scalar(sa.select(sa.func.coalesce(sa.func.sum(SearchWordCount.count), 0))
                             .where(SearchWordCount.word == word)))

    for _ in range(2):
        answered = client.get("/api/3/action/package_search", query_string={"q": "ＡＥＤ 設置"})
        assert answered.status_code == 200 and answered.get_json()["success"] is True
    assert (times("aed"), times("設置")) == (2, 2)
    assert client.get("/api/3/action/package_search", query_string={"q": "aed~2"}).status_code == 409  # not searched
    assert times("aed") == 2
    assert [column.name for column in SearchWordCount.__table__.columns] == ["word", "day", "count"]  # counts only

    def broken(*_args, **_kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("the database is read-only"))

    monkeypatch.setattr(search_words, "count", broken)
    answered = client.get("/api/3/action/package_search", query_string={"q": "aed"})
    assert answered.status_code == 200 and answered.get_json()["success"] is True
    assert times("aed") == 2
