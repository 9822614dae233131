"""How long each kind of record is kept, and from when that counts: the one retention table.

The prefecture's specifications say it (the seeds of issue 35):

* the project's documents and account books are kept five years after the project ends
  (書類や会計帳簿等を整備し、事業完了後においても５年間保存, specifications 001 and 002); the
  contract's papers five years counted from the fiscal year after the one the work was completed in
  (業務完了の年度の翌年度から起算して5年間, 003). A fiscal year's records therefore stay until the
  end of the fifth fiscal year after their own: FY2025's (令和7年度) until 2031-03-31.
* the platform's logs of communication and processing are kept a year (１年間保存, 004).

Every purge, the due list (what may be disposed of), the admin page, the API and the operator
manual (docs/operations.md, checked by tests/governance/test_retention.py) read this table;
nothing else states a period.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from core.calendar import JST, date_ja, fiscal_year_ja, fiscal_year_of
from core.errors import Invalid, problem
from core.labelled import LabelledEnum


class CountsFrom(LabelledEnum):
    # the end of the fiscal year the record belongs to
    fiscal_year_end = "fiscal_year_end", "記録の属する年度の末日（翌年度から起算）", "the end of the record's fiscal year"
    # the end of the fiscal year a later version took effect in
    superseded_year_end = "superseded_year_end", "次の版が効力を生じた年度の末日", "the end of the fiscal year a later version took effect"
    record = "record", "記録の日時", "the record's own time"  # the record's own time (a log line, an event)
    # when the matter the record is about was closed (an inquiry: 完了)
    closed = "closed", "対応の完了日時", "when the matter was closed"
    left = "left", "退会の日時", "when the person left"  # when the person left (a resident who left the portal)
    never = "never", "—（削除しません）", "— (never purged)"  # kept while the platform runs: no purge exists


@dataclasses.dataclass(frozen=True)
class Kind:
    key: str
    label_ja: str
    label_en: str
    counts_from: CountsFrom
    years: int = 0  # whole fiscal years after the counting point
    days: int = 0  # for logs: days after the record
    basis_ja: str = ""
    basis_en: str = ""

    def period_ja(self) -> str:
        if self.counts_from is CountsFrom.never:
            return "期限なし（運用中は保存）"
        return f"{self.years}年間" if self.years else f"{max(1, self.days // 365)}年間（{self.days}日）"

    def period_en(self) -> str:
        if self.counts_from is CountsFrom.never:
            return "no limit (kept while the platform runs)"
        if self.years:
            return f"{self.years} years"
        years = max(1, self.days // 365)
        return f"{'one year' if years == 1 else f'{years} years'} ({self.days} days)"

    def keep_until_year(self, fiscal_year: int) -> dt.date:
        """The last day (JST) a record of ``fiscal_year`` (or counted from its end) must be kept."""
        if not self.years:
            raise ValueError(f"{self.key} is not counted by fiscal year")
        return dt.date(fiscal_year + self.years + 1, 3, 31)

    def keep_until_moment(self, moment: dt.datetime) -> dt.datetime:
        """The instant before which a record made at ``moment`` may not go."""
        if not self.days:
            raise ValueError(f"{self.key} is not counted from the record's time")
        return moment + dt.timedelta(days=self.days)


_BOOKS_JA = "仕様書「事業完了後においても５年間保存」（001・002）、「業務完了の年度の翌年度から起算して5年間」（003）"
_BOOKS_EN = "specifications 001 and 002 (five years after the project ends), 003 (five years from the next fiscal year)"
_LOGS_JA = "仕様書「通信や処理に関するログを取得し、１年間保存」（004）"
_LOGS_EN = "specification 004 (logs of communication and processing kept one year)"

KINDS: tuple[Kind, ...] = (
    Kind("ledger", "会計帳簿（仕訳）", "Ledger (journal entries)", CountsFrom.fiscal_year_end, years=5,
         basis_ja=_BOOKS_JA, basis_en=_BOOKS_EN),
    Kind("allocation_runs", "負担金の算定", "Allocation runs", CountsFrom.fiscal_year_end, years=5,
         basis_ja=_BOOKS_JA, basis_en=_BOOKS_EN),
    Kind("letters_statements", "請求書・通知文書", "Letters and statements", CountsFrom.fiscal_year_end, years=5,
         basis_ja=_BOOKS_JA, basis_en=_BOOKS_EN),
    Kind("costs_invoices", "経費・請求（予算・補助金・収支決算を含む）",
         "Cost items and invoices (with budgets, grants and the year's settlement)", CountsFrom.fiscal_year_end, years=5,
         basis_ja=_BOOKS_JA, basis_en=_BOOKS_EN),
    Kind("agreements", "協定とその同意", "Agreements and acceptances", CountsFrom.superseded_year_end, years=5,
         basis_ja=_BOOKS_JA, basis_en=_BOOKS_EN),
    Kind("council", "協議会の議決", "Council decisions", CountsFrom.fiscal_year_end, years=5,
         basis_ja=_BOOKS_JA, basis_en=_BOOKS_EN),
    # the residents' portal shows the desk's look-ups from the log: it is kept at least as long as the linkage
    # records (RENKEI_LINKAGE_RETENTION_DAYS; governance.audit_export.refuse_before_linkages)
    Kind("audit_log", "操作ログ", "Audit log", CountsFrom.record, days=365,
         basis_ja=_LOGS_JA + "。住民に示す窓口での閲覧の記録を含むため、連携記録の保存期間より短くしません",
         basis_en=_LOGS_EN + "; it holds the residents' desk look-up history, so never kept shorter than the linkage records"),
    Kind("consent", "本人同意の記録", "Consent records", CountsFrom.never,
         basis_ja="連携記録の根拠となるため削除しません", basis_en="each linkage record's basis: never purged"),
    Kind("linkage", "連携記録", "Linkage records", CountsFrom.record, days=365, basis_ja=_LOGS_JA, basis_en=_LOGS_EN),
    Kind("usage_events", "利用実績（生データ）", "Usage events (raw)", CountsFrom.record, days=365,
         basis_ja=_LOGS_JA + "。月次集計は残します", basis_en=_LOGS_EN + "; monthly totals stay"),
    Kind("request_log", "リクエストログ", "Request log", CountsFrom.record, days=365, basis_ja=_LOGS_JA, basis_en=_LOGS_EN),
    Kind("service_probes", "稼働監視の計測結果", "Service probe results", CountsFrom.record, days=365,
         basis_ja=_LOGS_JA + "。稼働・停止の区間は残します", basis_en=_LOGS_EN + "; the up and down intervals stay"),
    Kind("sign_ins", "サインインの記録（Keycloak のログインイベント）", "Sign-ins (Keycloak's login events)", CountsFrom.record,
         days=365, basis_ja=_LOGS_JA + "。月次報告書の件数は残します", basis_en=_LOGS_EN + "; the monthly reports' counts stay"),
    # the default of RENKEI_INQUIRY_RETENTION_DAYS: what the due job's purge (secretariat.inquiries) removes
    Kind("inquiries", "問合せの個人情報（氏名・連絡先・内容・回答文）", "Inquiries' personal data (name, contact, text, replies)",
         CountsFrom.closed, days=1095, basis_ja="問合せ対応に必要な期間（設定 RENKEI_INQUIRY_RETENTION_DAYS で変更）。分類・日付は統計に残します",
         basis_en="as long as answering needs (setting RENKEI_INQUIRY_RETENTION_DAYS); category and dates stay for the figures"),
    # the default of RENKEI_RESIDENT_LEFT_RETENTION_DAYS: what the due job resident-retention erases (residents.portal_records)
    Kind("left_residents", "退会した住民の基本4情報・照合用ハッシュ・認証事業者の識別子",
         "Left residents' items, hashes and providers' identifiers", CountsFrom.left, days=365,
         basis_ja="連携記録と同じ1年間、退会の日から（設定 RENKEI_RESIDENT_LEFT_RETENTION_DAYS で変更）。共通IDの行は記録の参照のため残します",
         basis_en="the linkage records' year, from leaving (setting RENKEI_RESIDENT_LEFT_RETENTION_DAYS); the row with its "
                  "common ID stays for the records' references"),
)

BY_KEY = {kind.key: kind for kind in KINDS}


def kind(key: str) -> Kind:
    return BY_KEY[key]


def _day(moment: dt.datetime) -> dt.date:
    return moment.astimezone(JST).date()


def refuse_before(key: str, cutoff: dt.datetime, now: dt.datetime, field: str = "retention_days") -> None:
    """A purge of ``key``'s records made before ``cutoff`` (UTC-aware) is refused unless all of them
    are past their retention at ``now``: the youngest of them, made just before ``cutoff``, must be
    kept until ``cutoff`` plus the period."""
    rule = kind(key)
    until = rule.keep_until_moment(cutoff)
    if until <= now:
        return
    first_kept = _day(now - dt.timedelta(days=rule.days))
    raise Invalid(
        f"{rule.label_en} are kept {rule.period_en()}: the records made before {_day(cutoff).isoformat()} "
        f"must be kept until {_day(until).isoformat()} (only records made before {first_kept.isoformat()} may go); "
        "nothing was purged.",
        f"{rule.label_ja}の保存期間は{rule.period_ja()}です。{date_ja(_day(cutoff))}より前の記録は "
        f"{date_ja(_day(until))}まで保存しなければなりません（削除できるのは{date_ja(first_kept)}より前の記録です）。"
        "何も削除していません。",
        problems=[problem(field, f"{rule.label_en}: kept until {_day(until).isoformat()}",
                          f"{rule.label_ja}：{date_ja(_day(until))}まで保存")])


def refuse_fiscal_year(key: str, fiscal_year: int, today: dt.date) -> None:
    """Disposing of ``key``'s records of ``fiscal_year`` is refused until their retention has passed."""
    rule = kind(key)
    until = rule.keep_until_year(fiscal_year)
    if until < today:
        return
    raise Invalid(
        f"{rule.label_en} of FY{fiscal_year} must be kept until {until.isoformat()}; nothing was disposed of.",
        f"{fiscal_year_ja(fiscal_year)}の{rule.label_ja}は{date_ja(until)}まで保存しなければなりません。何も廃棄していません。",
        problems=[problem("fiscal_year", f"kept until {until.isoformat()}", f"{date_ja(until)}まで保存")])


def oldest_disposable_year(key: str, today: dt.date) -> int:
    """The newest fiscal year whose ``key`` records are past retention on ``today``."""
    return fiscal_year_of(today) - kind(key).years - 1


def manual_rows() -> list[str]:
    """The table as the operator manual writes it (docs/operations.md; a test compares)."""
    return [f"| {k.label_ja} / {k.label_en} | {k.period_ja()} | {CountsFrom(k.counts_from).ja} |"
            for k in KINDS]
