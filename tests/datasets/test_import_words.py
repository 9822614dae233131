"""The dataset import's words (issue 37, item 7): each problem names the column a person wrote and
the value given, never a draft's own field names; Excel's dates and era dates are read."""

from __future__ import annotations

import pytest

from tests.raw_text import raw_shapes

HEADER = "提供者コード,タイトル,分野,ライセンス,更新頻度,最終更新日,配布URL,形式\n"


@pytest.mark.parametrize("written, day", [("2024/4/1", "2024-04-01"), ("2024-04-01", "2024-04-01"),
                                          ("令和6年4月1日", "2024-04-01"), ("２０２４年４月１日", "2024-04-01")])
def test_excels_dates_and_era_dates_are_read(db, operator, providers, written, day):
    from catalogue.importing import judge_import

    drafts, _ = judge_import(db, operator, (HEADER + f"431001,駐輪場一覧,交通,CC-BY-4.0,毎年,{written},,\n").encode("cp932"))
    assert [d.last_updated_on.isoformat() for d, *_ in drafts] == [day]


def test_a_full_width_provider_code_is_read_as_the_code_it_is(db, operator, providers):
    from catalogue.importing import judge_import

    drafts, _ = judge_import(db, operator, (HEADER + "４３１００１,駐輪場一覧,交通,CC-BY-4.0,毎年,,,\n").encode("cp932"))
    assert [d.provider_code for d, *_ in drafts] == ["431001"]


def test_problems_name_the_columns_and_the_values_given(db, operator, providers):
    from catalogue.importing import ImportRejected, judge_import

    text = HEADER + ("43100X,駐輪場一覧,交通,CC-BY-4.0,毎年,令和6年2月30日,ftp://example.jp/a.csv,CSV\n"
                     "431001,,交通,CC-BY-4.0,毎年,,,\n")
    with pytest.raises(ImportRejected) as refused:
        judge_import(db, operator, text.encode("cp932"))
    messages = [p["message_ja"] for p in refused.value.problems]
    assert any(m.startswith("提供者コード: 「43100X」") for m in messages), messages
    assert any(m.startswith("最終更新日: 「令和6年2月30日」") for m in messages), messages
    assert any(m.startswith("配布URL（「ftp://example.jp/a.csv」）: ") for m in messages), messages
    assert any(m.startswith("タイトル: ") for m in messages), messages
    for p in refused.value.problems:
        assert raw_shapes(p["message_ja"]) == {} and raw_shapes(p["message_en"]) == {}, p
