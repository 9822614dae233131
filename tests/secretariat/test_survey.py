"""The yearly survey (issue 58 item 5): two fiscal years with the same questions, answers through one-time links
(a link works once; a bad one is refused), the response rate against its 30 % target (no recipients: no rate),
and each question's results with the previous year beside them."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.errors import Conflict, Invalid, NotFound, NotPermitted
from core.outbox import Notification
from secretariat import survey

DESK = Actor(issuer="urn:test", subject="desk-1", name="事務局 花子", roles=frozenset({"secretariat"}))
NOBODY = Actor(issuer="urn:test", subject="someone", name="誰か", roles=frozenset({"data-user"}))


def _links(db, year, count):
    survey.send_links(db, DESK, year, lambda token: f"https://renkei.example/survey/{token}")
    bodies = db.scalars(sa.select(Notification.body).where(Notification.kind == "survey.link")
                        .order_by(Notification.id.desc()).limit(count))
    return [re.search(r"/survey/(\S+)", body).group(1) for body in bodies]


def test_two_years_same_questions_answers_by_one_time_link_rate_and_comparison(db):
    survey.add_question(db, DESK, 2025, "usage", "single", "基盤を利用していますか", ("はい", "いいえ"))
    survey.add_question(db, DESK, 2025, "wish", "free_text", "ご要望")
    survey.add_recipients(db, DESK, 2025, [survey.Addressee(f"a{i}@example.jp", f"会社{i}", member=i < 2)
                                           for i in range(4)])
    for token, choice in zip(_links(db, 2025, 4), ("はい", "いいえ")):
        survey.answer(db, token, {"usage": [choice]})

    carried = survey.carry_questions(db, DESK, 2025, 2026)
    assert [q.key for q in carried] == ["usage", "wish"]
    fresh = survey.add_question(db, DESK, 2026, "areas", "multiple", "関心分野", ("観光", "防災", "交通"))
    assert not survey.is_new(db, carried[0]) and survey.is_new(db, fresh)
    survey.add_recipients(db, DESK, 2026, [survey.Addressee(f"b{i}@example.jp") for i in range(5)])
    tokens = _links(db, 2026, 5)
    survey.answer(db, tokens[0], {"usage": ["はい"], "areas": ["観光", "防災"], "wish": ["API の拡充"]})
    survey.answer(db, tokens[1], {"usage": ["はい"]})
    with pytest.raises(Conflict):
        survey.answer(db, tokens[0], {"usage": ["いいえ"]})
    with pytest.raises(NotFound):
        survey.answer(db, "not-a-token", {})

    assert survey.response_rate(db, 2025) == survey.Rate(2, 4) and survey.Rate(2, 4).met
    rate = survey.response_rate(db, 2026)
    assert rate.rate == Fraction(2, 5) and rate.target == Fraction(3, 10) and rate.met
    assert survey.response_rate(db, 2027) is None  # nothing measured is no rate, never 0 %

    by_key = {r.question.key: r for r in survey.results(db, DESK, 2026)}
    assert by_key["usage"].years == (2026, 2025) and not by_key["usage"].new
    assert by_key["usage"].counts == {2026: {"はい": 2}, 2025: {"はい": 1, "いいえ": 1}}
    assert by_key["areas"].new and by_key["areas"].years == (2026,)
    assert by_key["areas"].counts[2026] == {"観光": 1, "防災": 1}


def test_hostile_or_overlong_answers_and_bad_lists_are_field_errors(db):
    survey.add_question(db, DESK, 2026, "usage", "single", "利用", ("はい", "いいえ"))
    survey.add_question(db, DESK, 2026, "wish", "free_text", "ご要望")
    survey.add_recipients(db, DESK, 2026, [survey.Addressee("x@example.jp")])
    token, = _links(db, 2026, 1)
    with pytest.raises(Invalid) as refused:
        survey.answer(db, token, {"usage": ["はい", "いいえ"], "wish": ["x" * 5000]})
    assert {p["field"] for p in refused.value.problems} == {"q_usage", "q_wish"}
    with pytest.raises(Invalid) as refused:
        survey.add_recipients(db, DESK, 2026, [survey.Addressee("y@example.jp"), survey.Addressee("X@example.jp")])
    assert [p["field"] for p in refused.value.problems] == ["line 2"]
    assert db.scalar(sa.select(sa.func.count(survey.SurveyRecipient.id))) == 1  # all or nothing
    with pytest.raises(NotPermitted):
        survey.add_question(db, NOBODY, 2026, "z", "free_text", "?")


def test_the_workbook_and_the_pdf_show_the_rate_and_last_year_beside_this_year(db, tmp_path):
    import io
    import subprocess

    from openpyxl import load_workbook

    survey.add_question(db, DESK, 2025, "usage", "single", "基盤を利用していますか", ("はい", "いいえ"))
    survey.add_recipients(db, DESK, 2025, [survey.Addressee(f"a{i}@example.jp") for i in range(2)])
    survey.answer(db, _links(db, 2025, 2)[0], {"usage": ["いいえ"]})
    survey.carry_questions(db, DESK, 2025, 2026)
    survey.add_recipients(db, DESK, 2026, [survey.Addressee(f"b{i}@example.jp") for i in range(4)])
    survey.answer(db, _links(db, 2026, 4)[0], {"usage": ["はい"]})

    book = load_workbook(io.BytesIO(survey.to_xlsx(db, DESK, 2026)))
    cells = [[c.value for c in row] for row in book["回答率"].iter_rows()]
    assert ["令和8年度", "25.0%（1 / 4）", "30%"] in cells and ["令和7年度", "50.0%（1 / 2）", "30%"] in cells
    assert ["令和6年度", "—（送付先なし）", "30%"] in cells
    rows = [[c.value for c in row] for row in book["問1"].iter_rows()]
    assert ["回答", "令和8年度", "令和7年度", "令和6年度"] in rows
    assert ["はい", 1, 0, None] in rows and ["いいえ", 0, 1, None] in rows

    pdf = tmp_path / "survey.pdf"
    pdf.write_bytes(survey.to_pdf(db, DESK, 2026, "事務局"))
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "令和8年度 年次アンケート結果" in text and "25.0%（1 / 4）" in text and "50.0%（1 / 2）" in text


def test_the_public_page_takes_a_link_once_without_sign_in_and_never_fails_on_bad_input(app, db):
    survey.add_question(db, DESK, 2026, "usage", "single", "基盤を利用していますか", ("はい", "いいえ"))
    survey.add_question(db, DESK, 2026, "wish", "free_text", "ご要望")
    survey.add_recipients(db, DESK, 2026, [survey.Addressee("x@example.jp")])
    token, = _links(db, 2026, 1)
    public = app.test_client()
    db.commit()  # the page's refusals roll back the request's session
    assert public.get("/survey/not-a-token").status_code == 404
    shown = public.get(f"/survey/{token}")
    assert shown.status_code == 200 and "基盤を利用していますか" in shown.get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', shown.get_data(as_text=True)).group(1)
    refused = public.post(f"/survey/{token}", data={"csrf_token": csrf, "q_usage": "<script>", "q_wish": "x" * 5000})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "選択肢から選んでください" in page and "<script>" not in page.split("<form")[0]
    done = public.post(f"/survey/{token}", data={"csrf_token": csrf, "q_usage": "はい", "q_wish": "API の拡充"})
    assert done.status_code == 200 and 'id="answered"' in done.get_data(as_text=True)
    again = public.post(f"/survey/{token}", data={"csrf_token": csrf, "q_usage": "いいえ"})
    assert again.status_code == 409 and "このリンクは使えません" in again.get_data(as_text=True)
    assert survey.response_rate(db, 2026) == survey.Rate(1, 1)


def test_non_member_addresses_come_from_a_cp932_csv_all_or_nothing_naming_the_line(db):
    good = "メールアドレス,団体名\r\ninfo@kaisha.jp,株式会社熊本\r\nsoumu@dantai.jp,一般社団法人 阿蘇\r\n".encode("cp932")
    assert [r.name for r in survey.import_recipients(db, DESK, 2026, good)] == ["株式会社熊本", "一般社団法人 阿蘇"]
    repeated = "メールアドレス,団体名\r\nnew@kaisha.jp,新\r\ninfo@kaisha.jp,重複\r\n".encode("cp932")
    with pytest.raises(Invalid) as refused:
        survey.import_recipients(db, DESK, 2026, repeated)
    assert [p["field"] for p in refused.value.problems] == ["line 3"]
    assert survey.response_rate(db, 2026) == survey.Rate(0, 2)  # nothing of the refused file was added
