"""The demo's sample call (公募型企画コンペのサンプル): this fiscal year's call, published, with three
project groups that declared and proposed: the first review (一次審査) is in progress. Its reviewers are
the demo's real accounts, assigned once the demo's logins exist (:func:`assign_sample_reviewers`).

Everything goes through the real operations (the call from the default template, the groups formed
of sample members and municipalities, the declarations and proposals with their documents, the
reviewers); the groups' acts are dated just after the call opened, as they were made before its
deadlines. The documents are small PDFs written here. Every name carries 「（サンプル）」. Loading
again adds nothing: a register that holds any call is left as it is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from competition import operations as comp
from competition import review
from competition.models import Call
from core.actor import Actor
from core.calendar import fiscal_year_of, today_jst
from core.codes import corporate_number_of_local_government

SAMPLE = "（サンプル）"


def sample_pdf(title: str, pages: int = 1) -> bytes:
    """A small PDF of ``pages`` pages (ASCII ``title`` on each), enough for the upload's checks."""
    kids = " ".join(f"{3 + 2 * n} 0 R" for n in range(pages))
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>"]
    stream = f"BT /F1 18 Tf 72 720 Td ({title}) Tj ET".encode()
    for n in range(pages):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * n} 0 R "
                       "/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>")
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode()}\nendstream")
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


@dataclasses.dataclass(frozen=True)
class SampleCall:
    call_id: int | None
    proposals: int


def load_sample_call(session: Session, actor: Actor, members: tuple[str, ...]) -> SampleCall:
    """This fiscal year's call in its first review, the groups made of ``members`` (approved members'
    corporate numbers, two per company group) with 熊本市 and 八代市 representing two of them."""
    from tenancy.members import operations as member_ops

    from tenancy.members.models import MemberStatus, Organisation

    year = fiscal_year_of(today_jst())
    approved = set(session.scalars(sa.select(Organisation.corporate_number).where(
        Organisation.corporate_number.in_(members), Organisation.status == MemberStatus.approved)))
    if session.scalar(sa.select(Call.id).limit(1)) is not None or approved != set(members):
        return SampleCall(None, 0)  # a register with calls, or without the sample members, is left as it is
    call = comp.create_call(session, actor, year, title=f"{year}年度 データ活用事例創出事業 公募型企画コンペ{SAMPLE}")
    comp.publish_call(session, actor, call.id)
    opened = comp.milestones(session, call.id)[0].at + dt.timedelta(days=1)  # before every deadline
    groups = ((f"観光データ連携コンソーシアム{SAMPLE}", corporate_number_of_local_government("431001"), members[0:2]),
              (f"防災情報共有プロジェクト{SAMPLE}", corporate_number_of_local_government("432024"), members[2:4]),
              (f"農業データ活用グループ{SAMPLE}", members[4], members[4:6]))
    for n, (name, representative, others) in enumerate(groups, start=1):
        group = member_ops.form_group(session, actor, name, representative, [representative, *others])
        documents = [comp.Upload(kind, f"{kind}.pdf", sample_pdf(f"Sample {kind}"))
                     for kind in ("participation_form", "company_profile", "pledge")]
        comp.declare(session, actor, call.id, group.id, documents, now=opened)
        total = 3_000_000 + 500_000 * n
        comp.submit_proposal(session, actor, call.id, group.id, comp.Upload("proposal", "proposal.pdf",
                                                                             sample_pdf("Sample proposal", 3)),
                             [comp.Line(f"人件費{SAMPLE}", total - 800_000), comp.Line(f"クラウド利用料{SAMPLE}", 800_000)],
                             total, now=opened)
    return SampleCall(call.id, len(groups))


def assign_sample_reviewers(session: Session, actor: Actor, people: review.People, subjects: list[str]) -> int:
    """The sample call's reviewers: the demo's real accounts ``subjects`` (Keycloak ids), assigned through the
    review's operation once the demo's logins exist (their names and organisations are the accounts'; an
    account tied to a member of a sample group shows the conflict renkei finds). Only a sample call without
    reviewers is given them; returns how many were assigned."""
    call = session.scalar(sa.select(Call).where(Call.title.contains(SAMPLE)).order_by(Call.id))
    if call is None or session.scalar(sa.select(review.Reviewer.id).where(review.Reviewer.call_id == call.id).limit(1)):
        return 0
    for subject in subjects:
        review.assign_reviewer(session, actor, people, call.id, subject)
    return len(subjects)
