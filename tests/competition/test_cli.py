"""`renkei competition` acts through the same operations (audited) as the pages and the API: a call from the
template, a question answered and published, a declaration and a proposal refused over the cap, then taken."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from competition import operations as comp
from core.audit import AuditRecord
from tests.competition.conftest import REPRESENTATIVE, pdf_of


def _run(app, *args):
    return app.test_cli_runner().invoke(args=[*args, "--as", "competition-test"])


def test_a_call_is_run_from_the_command_line(app, db, operator, group, tmp_path):
    made = _run(app, "competition", "create", "2040")
    assert made.exit_code == 0, made.output
    call = db.scalar(sa.select(comp.Call))
    # the call opens now (the template's 公募開始 is in March 2040): nothing is taken before it opens
    comp.set_milestone(db, operator, call.id, "call_opens", dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
    db.commit()
    shown = _run(app, "competition", "show", str(call.id))
    assert "参加表明書提出期限\t2040/04/25 12:00" in shown.output and "計/total\t200" in shown.output
    assert "課題要件への適合性\t可・否" in shown.output
    assert _run(app, "competition", "publish", str(call.id)).exit_code == 0
    question = comp.ask(db, REPRESENTATIVE, call.id, "代表は県外企業でもよいですか。")
    db.commit()
    assert _run(app, "competition", "answer", str(question.id), "可能です。").exit_code == 0
    published = _run(app, "competition", "publish-answers", str(call.id))
    assert "1 件の回答を公開しました" in published.output
    files = {}
    for kind in ("participation_form", "company_profile", "pledge"):
        files[kind] = tmp_path / f"{kind}.pdf"
        files[kind].write_bytes(pdf_of(1))
    declared = _run(app, "competition", "declare", str(call.id), str(group.id),
                    *[a for kind, path in files.items() for a in ("--document", f"{kind}={path}")])
    assert declared.exit_code == 0, declared.output
    proposal = tmp_path / "proposal.pdf"
    proposal.write_bytes(pdf_of(4))
    over = _run(app, "competition", "propose", str(call.id), str(group.id), "--pdf", str(proposal),
                "--line", "人件費=5000001", "--total", "5000001")
    assert over.exit_code != 0, over.output
    assert "委託限度額 5,000,000 円（税込）を超えています" in over.output
    taken = _run(app, "competition", "propose", str(call.id), str(group.id), "--pdf", str(proposal),
                 "--line", "人件費=3,000,000", "--line", "旅費=200000", "--total", "3200000")
    assert taken.exit_code == 0 and "4 ページ、3,200,000 円" in taken.output
    listed = _run(app, "competition", "declarations", str(call.id))
    assert "観光データ連携" in listed.output and "3,200,000" in listed.output
    actions = list(db.scalars(sa.select(AuditRecord.action).where(AuditRecord.actor_subject == "competition-test")
                              .order_by(AuditRecord.id)))
    assert actions == ["competition.call.create", "competition.call.publish", "competition.question.answer",
                       "competition.answers.publish", "competition.declare", "competition.propose"]
