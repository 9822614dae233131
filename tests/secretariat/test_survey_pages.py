"""The yearly survey's desk page (issue 58 item 5) as the secretariat uses it: the year's questions carried from
the year before and one added (a refused question comes back with what was typed and the problem beside the
field), every member and the non-members of a CP932 file as recipients (a bad file adds nothing and names its
line), the links sent only after asking, answered through the public page, the rate and the results' files."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa
from openpyxl import load_workbook

from core.audit import AuditRecord
from core.calendar import fiscal_year_of, today_jst
from core.codes import corporate_check_digit
from core.outbox import Notification
from secretariat import survey
from tenancy.members.models import MemberStatus, Organisation, OrganisationKind
from tests.conftest import OPERATOR, sign_in

CSRF = "survey-csrf"


def _member(db, n: int, status=MemberStatus.approved) -> None:
    base = f"{n:012d}"
    db.add(Organisation(corporate_number=f"{corporate_check_digit(base)}{base}", name=f"会員{n}株式会社",
                        kind=OrganisationKind.company, prefecture="熊本県", representative="代表 太郎",
                        contact_name=f"担当{n}", contact_email=f"m{n}@example.jp", status=status))


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_the_desk_runs_a_year_of_the_survey_from_its_page(app, client, db):
    year = fiscal_year_of(today_jst())
    survey.add_question(db, OPERATOR, year - 1, "usage", "single", "基盤を利用していますか", ("はい", "いいえ"))
    for n in range(1, 4):
        _member(db, n)
    _member(db, 9, status=MemberStatus.withdrawn)  # a withdrawn member is not asked
    db.commit()
    sign_in(client, csrf=CSRF)

    page = client.get("/admin/survey/")
    assert page.status_code == 200 and "送付先がまだないため、回答率はありません" in _text(page)
    assert "0.0%" not in _text(page)  # nothing measured is never shown as 0 %
    carried = client.post(f"/admin/survey/carry?year={year}", data={"csrf_token": CSRF})
    assert carried.status_code == 302

    refused = client.post(f"/admin/survey/questions?year={year}", data={
        "csrf_token": CSRF, "key": "areas", "kind": "multiple", "text": "関心のある分野", "choices": "観光"})
    assert refused.status_code == 422
    assert "選択肢を2つ以上入力してください" in _text(refused) and "関心のある分野" in _text(refused)
    added = client.post(f"/admin/survey/questions?year={year}", data={
        "csrf_token": CSRF, "key": "areas", "kind": "multiple", "text": "関心のある分野", "choices": "観光\n防災\n"})
    assert added.status_code == 302
    shown = _text(client.get(f"/admin/survey/?year={year}"))
    rows = re.findall(r"<tr><td>問(\d)( <span[^>]*>新規</span>)?</td>\s*<td>([^<]*)</td>", shown)
    assert [(n, bool(new), text) for n, new, text in rows] == [
        ("1", False, "基盤を利用していますか"), ("2", True, "関心のある分野")]

    assert client.post(f"/admin/survey/members?year={year}", data={"csrf_token": CSRF}).status_code == 302
    bad = "メールアドレス,団体名\r\ninfo@kaisha.jp,株式会社熊本\r\nnot-an-address,阿蘇\r\n".encode("cp932")
    refused = client.post(f"/admin/survey/import?year={year}", data={
        "csrf_token": CSRF, "file": (io.BytesIO(bad), "送付先.csv")}, content_type="multipart/form-data")
    assert refused.status_code == 422 and "3行目" in _text(refused)
    good = "メールアドレス,団体名\r\ninfo@kaisha.jp,株式会社熊本\r\n".encode("cp932")
    assert client.post(f"/admin/survey/import?year={year}", data={
        "csrf_token": CSRF, "file": (io.BytesIO(good), "送付先.csv")}, content_type="multipart/form-data").status_code == 302
    emails = set(db.scalars(sa.select(survey.SurveyRecipient.email).where(survey.SurveyRecipient.fiscal_year == year)))
    assert emails == {"m1@example.jp", "m2@example.jp", "m3@example.jp", "info@kaisha.jp"}

    asked = client.post(f"/admin/survey/send?year={year}", data={"csrf_token": CSRF})
    assert asked.status_code == 200 and "未回答の送付先4件" in _text(asked)
    assert db.scalar(sa.select(sa.func.count(Notification.id)).where(Notification.kind == "survey.link")) == 0
    sent = client.post(f"/admin/survey/send?year={year}", data={"csrf_token": CSRF, "confirmed": "1"})
    assert sent.status_code == 302
    bodies = list(db.scalars(sa.select(Notification.body).where(Notification.kind == "survey.link")))
    assert len(bodies) == 4
    link = re.search(r"http://[^/]+(/survey/\S+)", bodies[0]).group(1)

    public = app.test_client()
    form = _text(public.get(link))
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    assert public.post(link, data={"csrf_token": csrf, "q_usage": "はい", "q_areas": ["観光", "防災"]}).status_code == 200
    db.rollback()
    page = _text(client.get(f"/admin/survey/?year={year}"))
    assert "送付先4件のうち1件が回答" in page and "25.0%" in page and "未達成" in page

    book = client.get(f"/admin/survey/results.xlsx?year={year}")
    assert book.status_code == 200
    sheet = [[c.value for c in row] for row in load_workbook(io.BytesIO(book.data))["問2（新規）"].iter_rows()]
    assert ["観光", 1, None, None] in sheet and ["防災", 1, None, None] in sheet
    pdf = client.get(f"/admin/survey/results.pdf?year={year}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    actions = set(db.scalars(sa.select(AuditRecord.action).where(AuditRecord.action.like("survey.%"))))
    assert {"survey.question.create", "survey.recipients.add", "survey.send"} <= actions


def test_a_member_admin_may_not_open_the_desk_page_and_an_overlong_link_is_refused_in_words(app, client, db):
    sign_in(client, ["org-admin"], csrf=CSRF)
    assert client.get("/admin/survey/").status_code == 403
    assert client.post("/admin/survey/members", data={"csrf_token": CSRF}).status_code == 403
    public = app.test_client()
    refused = public.get("/survey/" + "a" * 5000)
    assert refused.status_code == 404 and "このリンクは使えません" in _text(refused)
