"""The demo's sample desk of the secretariat (事務局のサンプル): members, inquiries, an event, minutes.

Everything goes through the real operations, so the audit log, the figures and the home pages agree:

* about 500 consortium members from a sample file (:func:`members_csv`, generated here, never a
  committed data file) through the member import (:func:`secretariat.members_import.import_file`),
  with contacts and industries; and a few applications under screening through the public form's
  operation (:func:`tenancy.members.operations.apply`, then the address confirmed);
* inquiries open, answered and overdue (recorded with earlier receipt times, so one is past its due day);
* a member seminar with registrations and a waiting list;
* a council meeting whose minutes are written and await another person's approval;
* last fiscal year's survey, partly answered through its one-time links, and this year's questions carried
  from it with one new (:func:`load_sample_survey`).

Every name carries 「（サンプル）」. The members' names are made up and their corporate numbers use
the registry office code 9999, which no 法務局 has, with a correct check digit.
Loading again adds nothing: a register that holds any organisation is left as it is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.actor import Actor
from core.codes import INDUSTRY_MAJOR_GROUPS, corporate_check_digit
from core.db import utcnow
from core.spreadsheet import csv_bytes

SAMPLE = "（サンプル）"
MEMBER_COUNT = 500
SCREENING_COUNT = 3
_OFFICE = "9999"  # a registry office code no 法務局 has: no real company carries these numbers
_PLACES = (("431001", "熊本県熊本市中央区"), ("432024", "熊本県八代市"), ("432032", "熊本県人吉市"),
           ("432041", "熊本県荒尾市"), ("432059", "熊本県水俣市"))
_WORDS = ("くまもと", "阿蘇", "火の国", "有明", "球磨", "天草", "八代", "菊池", "不知火", "清正")
_TRADES = ("データ", "システム", "テック", "ソリューションズ", "ネットワーク", "ラボ", "工業", "物産", "観光", "農園")
_INDUSTRIES = ("G", "G", "G", "E", "D", "I", "L", "A", "M", "P", "R", "H")
_SIZES = (("small", 8, 3_000_000), ("medium", 45, 10_000_000), ("medium", 120, 50_000_000), ("large", 800, 500_000_000))
_FAMILY = ("佐藤", "鈴木", "高橋", "田中", "渡辺", "伊藤", "山本", "中村", "小林", "加藤")
_GIVEN = ("花子", "太郎", "美咲", "翔", "陽菜", "大輔", "結衣", "健一", "彩", "誠")


def sample_corporate_number(serial: int) -> str:
    """The ``serial``-th sample corporate number: office 9999, kind 01, a six-digit serial, its check digit."""
    base = f"{_OFFICE}01{serial:06d}"
    return f"{corporate_check_digit(base)}{base}"


def members_csv(count: int = MEMBER_COUNT) -> bytes:
    """The sample members file, as a secretariat would bring it (Japanese headers, UTF-8 with BOM);
    the same bytes every time."""
    from secretariat.members_import import HEADERS_JA

    columns = ("corporate_number", "name", "kind", "address", "municipality_code", "industry", "size_band", "employees",
               "capital_yen", "representative", "contact_name", "contact_email", "contact_phone", "joined_on",
               "left_on", "leave_reason")
    rows = [[HEADERS_JA[c] for c in columns]]
    for n in range(1, count + 1):
        code, town = _PLACES[n % len(_PLACES)]
        industry = _INDUSTRIES[n % len(_INDUSTRIES)]
        size, employees, capital = _SIZES[n % len(_SIZES)]
        name = f"株式会社{_WORDS[n % 10]}{_TRADES[(n // 10) % 10]}{n:03d}{SAMPLE}"
        joined = dt.date(2019 + n % 7, 1 + n % 12, 1 + n % 28)
        left = joined + dt.timedelta(days=400) if n % 50 == 0 else None  # a few have left
        rows.append([sample_corporate_number(n), name, "企業", f"{town}サンプル町{n % 9 + 1}-{n % 30 + 1}", code,
                     f"{industry} {INDUSTRY_MAJOR_GROUPS[industry][0]}", {"small": "小規模事業者", "medium": "中小企業",
                                                                         "large": "大企業"}[size],
                     str(employees), str(capital), f"{_FAMILY[n % 10]} {_GIVEN[(n // 10) % 10]}",
                     f"{_FAMILY[(n + 3) % 10]} {_GIVEN[(n + 7) % 10]}", f"member{n:03d}@example.jp",
                     f"096-000-{n:04d}", joined.isoformat(), left.isoformat() if left else "",
                     "事業の見直し（サンプル）" if left else ""])
    return csv_bytes(rows)


def load_sample_members(session: Session, actor: Actor) -> int:
    """The sample members (through the import) and a few applications under screening; 0 when the register
    holds any organisation already."""
    from secretariat import members_import
    from tenancy.members import operations as members
    from tenancy.members.models import Organisation

    if session.scalar(sa.select(Organisation.id).limit(1)) is not None:
        return 0
    result = members_import.import_file(session, actor, members_csv())
    for n in range(MEMBER_COUNT + 1, MEMBER_COUNT + 1 + SCREENING_COUNT):
        tokens: list[str] = []
        members.apply(session, members.Application(
            corporate_number=sample_corporate_number(n), name=f"合同会社{_WORDS[n % 10]}イノベーション{SAMPLE}",
            kind="company", prefecture="熊本県", representative=f"{_FAMILY[n % 10]} {_GIVEN[n % 10]}",
            contact_name=f"{_FAMILY[(n + 1) % 10]} {_GIVEN[(n + 2) % 10]}", contact_email=f"applicant{n}@example.jp",
            address=f"熊本県熊本市中央区サンプル町{n % 9 + 1}"), confirm_url=lambda token: tokens.append(token) or token)
        members.confirm_email(session, tokens[0])  # confirmed: now awaiting the secretariat's screening
    return len(result.created) + SCREENING_COUNT


@dataclasses.dataclass(frozen=True)
class SampleDesk:
    inquiries: int
    event_id: int | None
    registrations: int
    meeting_id: int | None


INQUIRIES = (  # (days ago received, category, subject, answered)
    (20, "catalogue", "観光データの更新頻度について", False),  # past its due day: overdue
    (12, "joining", "入会手続きに必要な書類について", True),
    (1, "technical", "APIの利用申請の方法について", False),
    (0, "other", "データ活用セミナーの資料について", False),
)


def load_sample_desk(session: Session, actor: Actor) -> SampleDesk:
    """Inquiries, a seminar with registrations and a waiting list, a meeting's minutes awaiting approval;
    nothing when the desk has an inquiry already."""
    from governance import meetings
    from secretariat import events, inquiries

    if session.scalar(sa.select(inquiries.Inquiry.id).limit(1)) is not None:
        return SampleDesk(0, None, 0, None)
    now = utcnow()
    for n, (days, category, subject, answered) in enumerate(INQUIRIES, start=1):
        inquiry = inquiries.record_inquiry(session, actor, inquiries.InquiryDraft(
            inquirer_kind="other_body", channel="mail", category=category, subject=f"{subject}{SAMPLE}",
            question="デモ用のサンプルの問い合わせです。", inquirer_name=f"問合せ 太郎{n}{SAMPLE}",
            organisation_name=f"株式会社問合せ{n}{SAMPLE}", email=f"inquiry{n}@example.jp"),
            now=now - dt.timedelta(days=days))
        if answered:
            inquiries.reply(session, actor, inquiry.id, "お問い合わせありがとうございます。サンプルの回答です。")
    starts = (now + dt.timedelta(days=30)).replace(hour=5, minute=0, second=0, microsecond=0)  # 14:00 JST
    event = events.create_event(session, actor, events.EventDraft(
        kind="member_seminar", title=f"データ利活用セミナー{SAMPLE}", starts_at=starts, ends_at=starts + dt.timedelta(hours=2),
        capacity=5, audience="members", place="熊本県庁 会議室（サンプル）", description="デモ用のサンプルのイベントです。"))
    registered = 0
    for n in range(1, 8):  # five places, two on the waiting list
        events.register(session, actor, event.id, events.Registrant(
            name=f"参加 {_GIVEN[n]}{SAMPLE}", email=f"seminar{n}@example.jp", organisation_name=f"株式会社{_WORDS[n]}データ{SAMPLE}",
            corporate_number=sample_corporate_number(n)), now=now)
        registered += 1
    held = (now - dt.timedelta(days=14)).replace(hour=5, minute=0, second=0, microsecond=0)
    meeting = meetings.create_meeting(session, actor, meetings.MeetingDraft(
        kind="council", title=f"連携基盤協議会 定例会{SAMPLE}", held_at=held, place="熊本県庁（サンプル）",
        attendees=(meetings.Attendee(tenant_code="430005"), meetings.Attendee(tenant_code="431001"),
                   meetings.Attendee(tenant_code="432024")),
        agenda=(meetings.AgendaItem(title=f"次年度予算案について{SAMPLE}"), meetings.AgendaItem(title=f"公募型企画コンペの審査状況{SAMPLE}"))))
    meetings.write_minutes(session, actor, meeting.id, text=(
        "議事録（サンプル）\n\n1. 次年度予算案について: 事務局から説明し、意見交換を行った。\n"
        "2. 公募型企画コンペの審査状況: 一次審査が進行中であることを報告した。"))
    return SampleDesk(len(INQUIRIES), event.id, registered, meeting.id)


# the yearly survey's sample questionnaire: (key, kind, question, choices); the same keys year after year
_SURVEY = (("利用状況", "single", "連携基盤のデータを業務で利用していますか", ("利用している", "検討中", "利用していない")),
           ("関心分野", "multiple", "関心のある分野（複数選択可）", ("観光", "防災", "交通", "子育て", "農業")),
           ("要望", "free_text", "事務局へのご要望", ()))
_SURVEY_ANSWERS = (("利用している", ("観光", "防災")), ("検討中", ("交通",)), ("利用している", ("観光",)),
                   ("利用していない", ()), ("検討中", ("子育て", "農業")), ("利用している", ("防災", "交通")))
SURVEY_OTHERS = 20  # non-member organisations asked last year


@dataclasses.dataclass(frozen=True)
class SampleSurvey:
    last_year_recipients: int
    last_year_answers: int
    questions: int


def load_sample_survey(session: Session, actor: Actor, fiscal_year: int) -> SampleSurvey:
    """Last fiscal year's survey, asked of sample organisations and partly answered through their one-time links, and
    this year's questionnaire carried from it with one new question (recipients and links left to the desk);
    nothing when any survey question exists."""
    from secretariat import survey

    if session.scalar(sa.select(survey.SurveyQuestion.id).limit(1)) is not None:
        return SampleSurvey(0, 0, 0)
    last = fiscal_year - 1
    for key, kind, text, choices in _SURVEY:
        survey.add_question(session, actor, last, key, kind, f"{text}{SAMPLE}", choices)
    survey.add_recipients(session, actor, last, [
        survey.Addressee(f"survey{n}@example.jp", f"株式会社{_WORDS[n % 10]}{_TRADES[n % 10]}{n}{SAMPLE}")
        for n in range(1, SURVEY_OTHERS + 1)])
    tokens: list[str] = []
    survey.send_links(session, actor, last, lambda token: tokens.append(token) or f"/survey/{token}")
    for token, (usage, areas) in zip(tokens, _SURVEY_ANSWERS):
        survey.answer(session, token, {"利用状況": [usage], "関心分野": list(areas), "要望": ["サンプルの回答です。"]})
    carried = survey.carry_questions(session, actor, last, fiscal_year)
    survey.add_question(session, actor, fiscal_year, "生成AI", "single", f"生成AIを業務で利用していますか{SAMPLE}",
                        ("利用している", "検討中", "利用していない"))
    return SampleSurvey(SURVEY_OTHERS, len(_SURVEY_ANSWERS), len(carried) + 1)
