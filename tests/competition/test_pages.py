"""The competition's pages in Japanese: the public page shows the published call's schedule, 200-point table
and the published answers without who asked; the secretariat creates and publishes a call from the template;
a representative declares with the documents and is refused, in words, over the cap, over the page limit and
after the deadline."""

from __future__ import annotations

import io

import sqlalchemy as sa

from competition import operations as comp
from competition.models import Declaration, Proposal
from tests.competition.conftest import REPRESENTATIVE, opened_now, pdf_of
from tests.conftest import sign_in

CSRF = "competition-csrf"


def _representative(client):
    sign_in(client, ["municipal-admin"], ["431001"], subject=REPRESENTATIVE.subject, name=REPRESENTATIVE.name, csrf=CSRF)


def _declaration_files() -> dict:
    return {"participation_form": (io.BytesIO(pdf_of(1)), "参加表明書.pdf"),
            "company_profile": (io.BytesIO(b"PK\x03\x04" + b"\0" * 40), "会社概要.xlsx"),
            "pledge": (io.BytesIO(pdf_of(1)), "誓約書.pdf")}


def test_the_public_page_shows_the_published_call_and_its_answers_without_who_asked(client, db, operator):
    assert client.get("/competition/").status_code == 404  # nothing published yet
    call = comp.create_call(db, operator, 2040)
    comp.publish_call(db, operator, call.id)
    opened_now(db, operator, call)
    question = comp.ask(db, REPRESENTATIVE, call.id, "NGSI での接続は必須ですか。")
    comp.answer(db, operator, question.id, "必須ではありません。CSV も可能です。")
    db.commit()
    html = client.get("/competition/2040").get_data(as_text=True)
    assert "令和22年度 データ活用事例創出事業 公募型企画コンペ" in html
    for step in ("公募開始", "質問書の提出期限", "参加表明書提出期限", "企画提案書提出期限", "二次審査（ヒアリング）", "選定結果通知"):
        assert step in html
    assert "2040/04/25 12:00" in html and "5,000,000" in html
    assert "課題要件への適合性" in html and "可・否" in html and "200" in html
    assert "NGSI での接続は必須ですか。" not in html  # not published yet
    comp.publish_answers(db, operator, call.id)
    db.commit()
    html = client.get("/competition/").get_data(as_text=True)
    assert "NGSI での接続は必須ですか。" in html and "CSV も可能です。" in html
    assert "431001" not in html and REPRESENTATIVE.subject not in html and "熊本市" not in html


def test_the_secretariat_creates_and_publishes_a_call_from_the_template(client, db):
    sign_in(client, csrf=CSRF)
    done = client.post("/admin/competition/create", data={"csrf_token": CSRF, "fiscal_year": "2040"})
    assert done.status_code == 302
    call = db.scalar(sa.select(comp.Call))
    page = client.get(f"/admin/competition/{call.id}").get_data(as_text=True)
    assert "一次審査（書面）" in page and "合計 200 点" in page
    client.post(f"/admin/competition/{call.id}/publish", data={"csrf_token": CSRF})
    assert client.get("/competition/").status_code == 200
    again = client.post("/admin/competition/create", data={"csrf_token": CSRF, "fiscal_year": "2040"}, follow_redirects=True)
    assert "令和22年度の公募はすでにあります。" in again.get_data(as_text=True)


def test_a_representative_declares_and_proposals_over_the_cap_or_the_page_limit_are_refused_in_words(client, db, operator,
                                                                                                     group):
    call = comp.create_call(db, operator, 2040)
    comp.publish_call(db, operator, call.id)
    opened_now(db, operator, call)
    _representative(client)
    page = client.get("/admin/competition-entry/").get_data(as_text=True)
    assert "参加表明：観光データ連携" in page and "誓約書（別紙様式４）" in page
    base = f"/admin/competition-entry/{call.id}/groups/{group.id}"
    done = client.post(f"{base}/declaration", data={"csrf_token": CSRF, **_declaration_files()},
                       content_type="multipart/form-data", follow_redirects=True)
    assert "参加表明を受け付けました。" in done.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(Declaration)) == 1

    def propose(pages: int, amounts: list[int], total: int) -> str:
        lines = {f"item_{n}": f"費目{n}" for n in range(1, len(amounts) + 1)}
        lines |= {f"amount_{n}": str(a) for n, a in enumerate(amounts, start=1)}
        answer = client.post(f"{base}/proposal", data={"csrf_token": CSRF, "total_yen": str(total), **lines,
                                                       "proposal": (io.BytesIO(pdf_of(pages)), "企画提案書.pdf")},
                             content_type="multipart/form-data", follow_redirects=True)
        return answer.get_data(as_text=True)

    assert "委託限度額 5,000,000 円（税込）を超えています" in propose(5, [3_000_000, 2_500_000], 5_500_000)
    assert "11 ページあります。10 ページ以内にしてください。" in propose(11, [3_000_000], 3_000_000)
    assert db.scalar(sa.select(sa.func.count()).select_from(Proposal)) == 0
    assert "企画提案書を受け付けました。" in propose(10, [3_000_000, 1_900_000], 4_900_000)
    assert db.scalar(sa.select(Proposal.estimate_total_yen)) == 4_900_000


def test_a_late_declaration_is_refused_naming_the_deadline(client, db, operator, group):
    call = comp.create_call(db, operator, 2025)
    comp.publish_call(db, operator, call.id)
    db.commit()
    _representative(client)
    answer = client.post(f"/admin/competition-entry/{call.id}/groups/{group.id}/declaration",
                         data={"csrf_token": CSRF, **_declaration_files()}, content_type="multipart/form-data",
                         follow_redirects=True)
    assert "参加表明書の提出の期限（令和7年4月25日 12:00）を過ぎているため、受け付けられません。" in answer.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(Declaration)) == 0


def test_a_call_without_proposals_is_closed_with_a_reason_beside_the_field_and_reopened(client, db, operator):
    from competition.models import CallStatus

    call = comp.create_call(db, operator, 2025)  # its proposal deadline passed with no proposal
    comp.publish_call(db, operator, call.id)
    db.commit()
    sign_in(client, csrf=CSRF)
    page = client.get(f"/admin/competition/{call.id}").get_data(as_text=True)
    assert "公募の段階" in page and "公募中" in page and "選定なしで公募を終了する" in page
    asked = client.post(f"/admin/competition/{call.id}/close", data={"csrf_token": CSRF, "reason": ""})
    assert "公募を選定なしで終了しますか？" in asked.get_data(as_text=True)  # asked first
    refused = client.post(f"/admin/competition/{call.id}/close", data={"csrf_token": CSRF, "reason": " ", "confirmed": "1"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 200 and 'id="reason-close-error">理由を入力してください。' in html
    db.expire_all()
    assert db.get(comp.Call, call.id).status == CallStatus.open
    done = client.post(f"/admin/competition/{call.id}/close", data={"csrf_token": CSRF, "reason": "応募がなかったため",
                                                                      "confirmed": "1"}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "公募を選定なしで終了しました。" in html and "終了（選定なし）" in html and "応募がなかったため" in html
    assert "公募を再開する" in html
    reopened = client.post(f"/admin/competition/{call.id}/reopen", data={"csrf_token": CSRF, "reason": "期間を延長して再公募"},
                           follow_redirects=True)
    assert "公募を再開しました" in reopened.get_data(as_text=True)
    db.expire_all()
    assert db.get(comp.Call, call.id).status == CallStatus.open
