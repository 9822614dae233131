"""Authorization in one place: role × tenant scope × action.

Every domain operation that reads or changes tenant-scoped state asks :func:`authorize` itself,
so the API, the admin views and the command line apply the same rule; nothing else decides who
may do what. (Views still ask :func:`allowed` to decide which pages and buttons to show.)
A grant is either ``ALL`` (every tenant) or ``OWN`` (only the tenants the actor belongs to).
Roles not named for an action are refused. The auditor holds only read actions, so every
write is refused to them. The contractors' roles (the secretariat, the platform vendor) hold only
their desk's or the service's actions: no money, no identity administration, no settings.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from core.actor import Actor
from core.errors import Invalid, NotPermitted, problem

Scope = Literal["all", "own"]

OPERATOR = "platform-operator"
MUNICIPAL_ADMIN = "municipal-admin"
MUNICIPAL_STAFF = "municipal-staff"
FINANCE = "finance-officer"
AUDITOR = "auditor"
METERING = "metering-client"
# consortium member organisations (tenancy/members): their "tenant code" is their corporate number
ORG_ADMIN = "org-admin"
DATA_PROVIDER = "data-provider"
DATA_USER = "data-user"
# the resident-facing app's API client: a token with the consent:write scope (tenancy.identity.tokens)
CONSENT_APP = "consent-app"
# a municipality's residents' desk (issue 42): enrols residents, looks them up with a reason, links
# their services' IDs and decides the review queue, for its own municipality only
RESIDENT_DESK = "resident-desk"
# a data service's API client asking for a resident's items (issue 42 item 6): a token with the
# residents:broker scope (tenancy.identity.tokens); renkei answers only for the services it is the client of
BROKERAGE_CLIENT = "brokerage-client"
# the prefecture's contractors (issue 57 item 1; docs/DOMAIN.md "the prefecture and its contractors"): their people
# do only their jobs, every tenant's, and no money, identity administration or settings. The secretariat runs the
# consortium's desk; the platform vendor runs the service. Only the operator grants these roles.
SECRETARIAT = "secretariat"
VENDOR = "platform-vendor"

PEOPLE_ROLES = (OPERATOR, MUNICIPAL_ADMIN, MUNICIPAL_STAFF, FINANCE, AUDITOR, ORG_ADMIN, DATA_PROVIDER, DATA_USER,
                RESIDENT_DESK, SECRETARIAT, VENDOR)
CONTRACTOR_ROLES = frozenset({SECRETARIAT, VENDOR})
TENANT_ROLES = frozenset({MUNICIPAL_ADMIN, MUNICIPAL_STAFF, RESIDENT_DESK})
ORG_ROLES = frozenset({ORG_ADMIN, DATA_PROVIDER, DATA_USER})
ROLE_LABELS_JA = {
    OPERATOR: "運営者（県）",
    MUNICIPAL_ADMIN: "市町村管理者",
    MUNICIPAL_STAFF: "市町村職員",
    FINANCE: "財政・会計担当",
    AUDITOR: "監査",
    METERING: "利用実績送信クライアント",
    CONSENT_APP: "同意記録クライアント（住民向けアプリ）",
    BROKERAGE_CLIENT: "データ仲介クライアント（データ利用サービス）",
    ORG_ADMIN: "団体管理者（企業・大学・団体）",
    DATA_PROVIDER: "データ提供者",
    DATA_USER: "データ利用者",
    RESIDENT_DESK: "住民窓口担当（市町村）",
    SECRETARIAT: "コンソーシアム事務局（受託事業者）",
    VENDOR: "基盤運用事業者（受託事業者）",
}

_READ_ALL = {OPERATOR: "all", FINANCE: "all", AUDITOR: "all"}
_READ_OWN = {MUNICIPAL_ADMIN: "own", MUNICIPAL_STAFF: "own"}
_DESK = {OPERATOR: "all", SECRETARIAT: "all"}  # the consortium's desk: the operator or its contracted secretariat
_DESK_READ = {**_DESK, AUDITOR: "all"}
_SERVICE = {OPERATOR: "all", VENDOR: "all"}  # running the platform: the operator or its contracted vendor
_SERVICE_READ = {**_SERVICE, AUDITOR: "all"}

POLICY: dict[str, dict[str, Scope]] = {
    "tenant.read": {**_READ_ALL, **_READ_OWN},
    "tenant.create": {OPERATOR: "all"},
    "tenant.update": {OPERATOR: "all"},
    "tenant.transition": {OPERATOR: "all"},
    "user.read": {OPERATOR: "all", AUDITOR: "all", MUNICIPAL_ADMIN: "own", ORG_ADMIN: "own"},
    "user.manage": {OPERATOR: "all", MUNICIPAL_ADMIN: "own", ORG_ADMIN: "own"},
    "identity.incident": {OPERATOR: "all"},
    "incident.read": _SERVICE_READ,
    "incident.manage": _SERVICE,
    # personal-data breaches (service.breaches, issue 56 item 4): the municipality is the controller of its residents'
    # data and reports; the operator runs it with them; the vendor and the auditor read the breach, never a resident
    "breach.read": {**_SERVICE_READ, MUNICIPAL_ADMIN: "own", RESIDENT_DESK: "own"},
    "breach.manage": {OPERATOR: "all", MUNICIPAL_ADMIN: "own"},
    "breach.mark": {OPERATOR: "all"},  # an incident is marked by who runs the incident register, never by number from outside
    "breach.residents": {OPERATOR: "all", MUNICIPAL_ADMIN: "own"},  # the affected residents by common ID
    "breach.letters": {MUNICIPAL_ADMIN: "own", RESIDENT_DESK: "own"},  # their names and addresses, for letters
    "log.read": {OPERATOR: "all", AUDITOR: "all"},
    "billing.read": {**_READ_ALL, MUNICIPAL_ADMIN: "own", MUNICIPAL_STAFF: "own"},
    "billing.manage": {FINANCE: "all"},
    # the vendor reads the platform's use (API calls counted by the gateway) for the monthly report it writes
    "usage.read": {**_READ_ALL, **_READ_OWN, VENDOR: "all"},
    "usage.ingest": {METERING: "all", OPERATOR: "all"},
    "usage.purge": {OPERATOR: "all"},
    "quota.check": {METERING: "all", OPERATOR: "all", AUDITOR: "all", **_READ_OWN},
    "quota.manage": {OPERATOR: "all"},
    "governance.read": {**_READ_ALL, **_READ_OWN},
    "agreement.manage": {OPERATOR: "all"},
    "agreement.accept": {MUNICIPAL_ADMIN: "own"},
    "council.manage": {OPERATOR: "all"},
    "council.vote": {MUNICIPAL_ADMIN: "own", OPERATOR: "own"},
    "audit.read": {AUDITOR: "all", OPERATOR: "all"},
    "audit.verify": {AUDITOR: "all", OPERATOR: "all"},
    "notification.read": {OPERATOR: "all", AUDITOR: "all", MUNICIPAL_ADMIN: "own"},
    "notice.publish": {OPERATOR: "all"},
    "notice.read": {**_READ_ALL, **_READ_OWN, ORG_ADMIN: "own", DATA_PROVIDER: "own", DATA_USER: "own"},
    "system.check": {OPERATOR: "all", AUDITOR: "all"},
    "system.backup": {OPERATOR: "all"},
    "system.identity": {OPERATOR: "all"},
    "service.read": _SERVICE_READ,
    "service.manage": _SERVICE,
    # the availability target and the reports' recipients are the prefecture's terms, never the vendor's
    "service.settings": {OPERATOR: "all"},
    "member.read": {**_DESK_READ, ORG_ADMIN: "own", DATA_PROVIDER: "own", DATA_USER: "own"},
    "member.screen": _DESK,
    # the approval opens the organisation's accounts (its first admin): identity administration, the operator's
    "member.approve": {OPERATOR: "all"},
    "member.withdraw": {**_DESK, ORG_ADMIN: "own"},
    # a member keeps its own details (issue 58); what the secretariat must check waits for member.screen
    "member.update": {**_DESK, ORG_ADMIN: "own"},
    # the secretariat's desk (issue 40): the operator or the contracted secretariat
    "member.import": _DESK,
    "member.report": _DESK_READ,
    "member.target": _DESK,
    "project.read": {OPERATOR: "all", AUDITOR: "all"},
    "project.manage": {OPERATOR: "all"},
    "api_client.read": {OPERATOR: "all", AUDITOR: "all", MUNICIPAL_ADMIN: "own", ORG_ADMIN: "own"},
    "api_client.manage": {OPERATOR: "all", MUNICIPAL_ADMIN: "own", ORG_ADMIN: "own"},
    "api_client.allow_any": {OPERATOR: "all"},
    "api_client.approve": {OPERATOR: "all"},
    "api_client.policy": {OPERATOR: "all"},
    "gateway.check": {METERING: "all", OPERATOR: "all"},
    "settings.read": {OPERATOR: "all", FINANCE: "all", AUDITOR: "all"},
    "settings.manage": {OPERATOR: "all"},
    "dataset.read": {OPERATOR: "all", AUDITOR: "all", **_READ_OWN, ORG_ADMIN: "own", DATA_PROVIDER: "own", DATA_USER: "own"},
    "dataset.manage": {OPERATOR: "all", MUNICIPAL_ADMIN: "own", ORG_ADMIN: "own", DATA_PROVIDER: "own"},
    "dataset.review": {OPERATOR: "all"},
    # who uses a provider's datasets through the gateway (issue 37): the provider's own people and the operator
    "dataset.use.read": {OPERATOR: "all", AUDITOR: "all", **_READ_OWN, ORG_ADMIN: "own", DATA_PROVIDER: "own"},
    "dataset.settings": {OPERATOR: "all"},
    "dataset.terms.accept": {MUNICIPAL_ADMIN: "own", ORG_ADMIN: "own"},
    "consent.manage": {OPERATOR: "all"},
    "consent.service.manage": {OPERATOR: "all", MUNICIPAL_ADMIN: "own", ORG_ADMIN: "own"},
    "consent.service.read": {OPERATOR: "all", AUDITOR: "all", MUNICIPAL_ADMIN: "own", ORG_ADMIN: "own"},
    "consent.record": {MUNICIPAL_ADMIN: "own", MUNICIPAL_STAFF: "own", CONSENT_APP: "own"},
    "consent.history": {MUNICIPAL_ADMIN: "own", MUNICIPAL_STAFF: "own", OPERATOR: "all", AUDITOR: "all"},
    "consent.linkage.read": {OPERATOR: "all", AUDITOR: "all"},
    "consent.check": {METERING: "all", OPERATOR: "all"},
    "report.annual": dict(_READ_ALL),
    # the grant's results report (service/kpis.py, issue 57 item 7): read as the annual report is; the operator
    # declares the year's targets
    "kpi.read": dict(_READ_ALL),
    "kpi.manage": {OPERATOR: "all"},
    "retention.read": {OPERATOR: "all", AUDITOR: "all"},
    "retention.dispose": {OPERATOR: "all"},
    # the consortium secretariat's desk (secretariat/): the operator or the contracted secretariat (docs/identity.md)
    "inquiry.read": _DESK_READ,
    "inquiry.manage": _DESK,
    "event.read": _DESK_READ,
    "event.manage": _DESK,
    "event.register": {**_DESK, MUNICIPAL_ADMIN: "own", MUNICIPAL_STAFF: "own", ORG_ADMIN: "own",
                       DATA_PROVIDER: "own", DATA_USER: "own"},
    # the project competition (competition/): the operator runs it; members ask and the representative submits
    "competition.read": {OPERATOR: "all", AUDITOR: "all"},
    "competition.manage": {OPERATOR: "all"},
    "competition.ask": {OPERATOR: "all", MUNICIPAL_ADMIN: "own", MUNICIPAL_STAFF: "own", ORG_ADMIN: "own",
                        DATA_PROVIDER: "own", DATA_USER: "own"},
    "competition.submit": {OPERATOR: "all", MUNICIPAL_ADMIN: "own", ORG_ADMIN: "own"},
    # reviewers are prefecture staff or outside experts: any person but the auditor (who changes nothing) may be
    # one, and the review's operations ask the call's own assignment too (competition/review.py); a contractor
    # may bid, so is never one
    "competition.review": {role: "all" for role in PEOPLE_ROLES if role != AUDITOR and role not in CONTRACTOR_ROLES},
    # the year's schedule, issues and monthly progress report (secretariat/progress.py)
    "progress.read": _DESK_READ,
    "progress.manage": _DESK,
    "progress.report": _DESK_READ,
    # advisers and members' consultations with them (secretariat/advisers.py)
    "adviser.read": _DESK_READ,
    "adviser.manage": _DESK,
    "adviser.book": {**_DESK, ORG_ADMIN: "own"},
    # the members' site (issue 58 item 2): a member's people list their own member's solutions (secretariat/solutions.py)
    # and read every member's, the directory of what members publish and the archive of past events for members
    # (secretariat/events.py event_archive); the desk reads them all. Never anonymous: "own" needs a member.
    "solution.read": {**_DESK_READ, ORG_ADMIN: "own", DATA_PROVIDER: "own", DATA_USER: "own"},
    "solution.manage": {ORG_ADMIN: "own", DATA_PROVIDER: "own", DATA_USER: "own"},
    "member.directory": {**_DESK_READ, ORG_ADMIN: "own", DATA_PROVIDER: "own", DATA_USER: "own"},
    "event.archive": {**_DESK_READ, ORG_ADMIN: "own", DATA_PROVIDER: "own", DATA_USER: "own",
                      MUNICIPAL_ADMIN: "own", MUNICIPAL_STAFF: "own"},
    # smart-city services, ideas and the municipalities' needs (secretariat/smart_services.py, issue 57 item 5): the
    # desk keeps services and ideas and reads every need; a municipality's people answer the survey for their own
    "smartcity.read": _DESK_READ,
    "smartcity.manage": _DESK,
    "smartcity.target": _DESK,
    "smartcity.need.read": {**_DESK_READ, MUNICIPAL_ADMIN: "own", MUNICIPAL_STAFF: "own"},
    "smartcity.need.answer": {MUNICIPAL_ADMIN: "own", MUNICIPAL_STAFF: "own"},
    # the consortium's yearly survey of organisations (secretariat/survey.py, issue 58 item 5): the desk keeps the
    # questionnaire and recipients, sends the one-time links and reads the results; answers come by the link only
    "survey.read": _DESK_READ,
    "survey.manage": _DESK,
    # mailings to members by segment (secretariat/mailings.py): the desk writes and sends; a member's admin (or the
    # desk) says whether the member receives announcements (the unsubscribe link needs no sign-in)
    "mailing.read": _DESK_READ,
    "mailing.send": _DESK,
    "mailing.preference": {**_DESK, ORG_ADMIN: "own"},
    # the residents' side (residents/, issue 42): the municipality is the controller of its residents'
    # data, so only its own residents' desk sees them; the operator rotates the key and sees no one
    "resident.enrol": {RESIDENT_DESK: "own"},
    "resident.read": {RESIDENT_DESK: "own"},
    # counts for policy work, small counts suppressed (residents.figures): no person's item in them
    "resident.figures": {RESIDENT_DESK: "own", MUNICIPAL_ADMIN: "own"},
    # the file register (個人情報ファイル簿, residents.file_register): the files' facts, no person's item in them
    "resident.file_register.read": {OPERATOR: "all", AUDITOR: "all", MUNICIPAL_ADMIN: "own"},
    "resident.file_register.publish": {OPERATOR: "all", MUNICIPAL_ADMIN: "own"},
    "resident.link": {RESIDENT_DESK: "own"},
    "resident.represent": {RESIDENT_DESK: "own"},  # legal representatives (residents.representation)
    "resident.broker": {BROKERAGE_CLIENT: "all"},
    "resident.link_code": {BROKERAGE_CLIENT: "all"},  # a service's one-time link code (residents.portal)
    "resident.review": {RESIDENT_DESK: "own"},
    "resident.recover": {RESIDENT_DESK: "own"},  # split and merge, four eyes (residents.recovery)
    # a notice to a municipality's residents, shown in the portal (residents.portal_records)
    "resident.notice.publish": {OPERATOR: "all", RESIDENT_DESK: "own"},
    "resident.keys": {OPERATOR: "all"},
    # the residents' realm and its identity providers (residents/signin.py): the platform's, no resident's data
    "resident.signin.configure": {OPERATOR: "all"},
    # a municipality takes part in the one residents' portal, with its own words (residents.portal_municipalities)
    "resident.portal.configure": {OPERATOR: "all", MUNICIPAL_ADMIN: "own"},
    # the community and working groups (secretariat/groups.py), meetings and minutes (governance/meetings.py)
    "group.read": _DESK_READ,
    "group.staff": {**_DESK_READ, MUNICIPAL_ADMIN: "own"},  # the groups a tenant's staff are in (issue 57 item 4)
    "group.manage": _DESK,
    "meeting.read": _DESK_READ,
    "meeting.manage": _DESK,
    "meeting.approve": {OPERATOR: "all"},  # the prefecture inspects: never the minutes' writer, nor the contractor
    # the yearly account review (service/account_reviews.py, issue 57 item 6): the operator starts it for every
    # municipality and sees which are done; the municipal admin decides for their own people and attests it
    "account_review.read": {OPERATOR: "all", AUDITOR: "all", MUNICIPAL_ADMIN: "own"},
    "account_review.start": {OPERATOR: "all", MUNICIPAL_ADMIN: "own"},
    "account_review.attest": {MUNICIPAL_ADMIN: "own"},
    # subcontracting (governance/subcontracts.py, issue 57 item 3): a contractor asks approval for a subcontractor
    # and reads its own contractor's requests only (the operation keeps them apart by role); the prefecture decides
    "subcontract.read": {OPERATOR: "all", AUDITOR: "all", SECRETARIAT: "all", VENDOR: "all"},
    "subcontract.read_all": {OPERATOR: "all", AUDITOR: "all"},
    "subcontract.request": {SECRETARIAT: "all", VENDOR: "all"},
    "subcontract.decide": {OPERATOR: "all"},
    # documents a contractor owes the prefecture (governance/submissions.py, issue 57 item 2): a contractor submits
    # and reads its own (the operation keeps them apart); the prefecture opens them and inspects (approve, return)
    "submission.read": {OPERATOR: "all", AUDITOR: "all", SECRETARIAT: "all", VENDOR: "all"},
    "submission.read_all": {OPERATOR: "all", AUDITOR: "all"},
    "submission.open": {OPERATOR: "all"},
    "submission.submit": {SECRETARIAT: "all", VENDOR: "all"},
    "submission.inspect": {OPERATOR: "all"},
    # the members' yearly re-screening (secretariat/rescreening.py, issue 58 item 4): the desk imports the 国税庁's
    # difference files and decides per member; each member's own admin re-confirms its declaration
    "rescreening.read": _DESK_READ,
    "rescreening.manage": _DESK,
    "rescreening.decide": _DESK,
    "rescreening.declare": {ORG_ADMIN: "own"},
}

ACTION_LABELS_JA = {
    "tenant.read": "参加団体の閲覧",
    "tenant.create": "参加団体の登録",
    "tenant.update": "参加団体の変更",
    "tenant.transition": "参加状態の変更",
    "user.read": "利用者の閲覧",
    "user.manage": "利用者の管理",
    "identity.incident": "認証サーバーの不整合の確認と解消",
    "incident.read": "障害台帳の閲覧",
    "incident.manage": "障害の登録・経過の記録・県への報告",
    "breach.read": "個人情報の漏えい等（報告期限・報告書）の閲覧",
    "breach.manage": "個人情報の漏えい等の記録・個人情報保護委員会への報告・本人への通知",
    "breach.mark": "障害を個人情報の漏えい等として登録",
    "breach.residents": "漏えい等の対象となった住民（共通ID）の閲覧",
    "breach.letters": "漏えい等を郵送で知らせる住民の一覧（氏名・住所）",
    "log.read": "リクエストログの検索",
    "billing.read": "負担金の閲覧",
    "billing.manage": "負担金の計算・承認",
    "settings.read": "県の設定（発行者・振込先・文書番号）の閲覧",
    "settings.manage": "県の設定（発行者・振込先・文書番号）の変更",
    "usage.read": "利用実績の閲覧",
    "usage.ingest": "利用実績の送信",
    "usage.purge": "利用実績の削除（保存期間経過分）",
    "quota.check": "利用上限の確認",
    "quota.manage": "利用上限の設定",
    "governance.read": "協定・協議会の閲覧",
    "agreement.manage": "協定の公開",
    "agreement.accept": "協定への同意",
    "council.manage": "協議会の運営",
    "council.vote": "協議会での投票",
    "audit.read": "操作ログの閲覧",
    "audit.verify": "操作ログの検証",
    "notification.read": "通知の閲覧",
    "notice.publish": "お知らせの掲載",
    "notice.read": "お知らせの閲覧",
    "system.check": "システム全体の整合性検査",
    "system.backup": "バックアップと復元",
    "system.identity": "認証サーバーのレルムとサービスアカウントの設定",
    "service.read": "稼働状況・稼働率・計画メンテナンスの閲覧",
    "service.manage": "監視対象・計画メンテナンス・月次報告",
    "service.settings": "稼働率目標・報告の宛先の設定",
    "member.read": "会員（企業・大学・団体）の閲覧",
    "member.screen": "会員の入会審査",
    "member.approve": "会員の入会承認（団体管理者のアカウントの作成）",
    "member.withdraw": "会員の退会",
    "member.update": "会員の登録内容の変更",
    "member.import": "既存会員の一括取込",
    "member.report": "会員状況報告書の作成",
    "member.target": "新規会員募集目標の設定",
    "project.read": "提案グループの閲覧",
    "project.manage": "提案グループの結成・変更",
    "api_client.read": "API クライアントの閲覧",
    "api_client.manage": "API クライアントの登録・更新・失効",
    "api_client.allow_any": "API クライアントの接続元制限の解除（すべての接続元を許可）",
    "api_client.approve": "API クライアントの登録・変更の承認",
    "api_client.policy": "API クライアントの方針（接続元・スコープ・有効期限の上限）の設定",
    "gateway.check": "API ゲートウェイの通過判定",
    "dataset.read": "データセット台帳の閲覧",
    "dataset.manage": "データセットの登録・変更・審査申請",
    "dataset.review": "データセットの審査・公開",
    "dataset.use.read": "データセットの利用状況（利用者別）の閲覧",
    "dataset.settings": "データセットの分野・ライセンスの管理",
    "dataset.terms.accept": "データセットの利用規約への同意",
    "consent.manage": "データ利用サービスの承認・個人認証レベルの管理",
    "consent.service.manage": "データ利用サービスの登録・同意文の改定",
    "consent.service.read": "データ利用サービスとその連携記録の閲覧",
    "consent.record": "本人同意・撤回の記録",
    "consent.history": "本人の同意・連携履歴の閲覧",
    "consent.linkage.read": "連携記録の検索（全団体）",
    "consent.check": "同意確認（データ連携の可否判定）",
    "report.annual": "年度報告書の作成",
    "kpi.read": "成果指標（KPI）と実績報告書の閲覧・作成",
    "kpi.manage": "成果指標（KPI）の目標値の設定",
    "retention.read": "記録の保存期間と廃棄対象の閲覧・年度の記録の書き出し",
    "retention.dispose": "保存期間を過ぎた記録の廃棄",
    "inquiry.read": "問合せの閲覧",
    "inquiry.manage": "問合せの受付・回答",
    "event.read": "イベント・研修の閲覧",
    "event.manage": "イベント・研修の運営（出欠・目標・アーカイブ）",
    "event.register": "イベント・研修への参加登録",
    "competition.read": "企画コンペ（公募・質問・参加表明・提案）の閲覧",
    "competition.manage": "企画コンペの公募の作成・公開、質問への回答",
    "competition.ask": "企画コンペへの質問",
    "competition.submit": "企画コンペへの参加表明・企画提案書の提出（代表事業者）",
    "competition.review": "企画コンペの審査（審査員に指名された公募のみ）",
    "progress.read": "年間予定・課題の閲覧",
    "progress.manage": "年間予定・課題の管理",
    "progress.report": "進捗・課題管理報告書の作成",
    "adviser.read": "アドバイザー・相談の閲覧",
    "adviser.manage": "アドバイザーの管理・相談結果の記録",
    "adviser.book": "アドバイザー相談の予約",
    "solution.read": "会員のソリューション情報の閲覧・検索",
    "solution.manage": "自団体のソリューション情報の登録・変更・取下げ",
    "member.directory": "会員名簿（各会員が公開に同意した情報）の閲覧",
    "event.archive": "過去のイベントのアーカイブ（資料・録画）の閲覧",
    "survey.read": "年次アンケートの閲覧",
    "survey.manage": "年次アンケートの設問・送付先の管理と送付",
    "smartcity.read": "スマートシティサービス・アイデアの閲覧",
    "smartcity.manage": "スマートシティサービス・アイデアの登録・変更",
    "smartcity.target": "サービス掘り起こしの年度目標の設定",
    "smartcity.need.read": "市町の課題・ニーズの閲覧",
    "smartcity.need.answer": "市町の課題・ニーズの回答（自団体）",
    "mailing.read": "会員へのメール配信の閲覧",
    "mailing.send": "会員へのメール配信の作成・送信",
    "mailing.preference": "会員の案内メールの受信設定",
    "resident.enrol": "住民の登録（共通IDの発行）",
    "resident.read": "住民の検索・閲覧（理由を記録）",
    "resident.figures": "住民に関する集計（少数秘匿）",
    "resident.file_register.read": "個人情報ファイル簿の閲覧・ダウンロード",
    "resident.file_register.publish": "個人情報ファイル簿の公表の設定",
    "resident.link": "住民とサービスのIDの連携",
    "resident.represent": "法定代理人（親権者・成年後見人）の記録と終了",
    "resident.broker": "住民データの仲介（サービスの問合せ）",
    "resident.link_code": "住民ポータルでの連携用ワンタイムコードの発行（サービス）",
    "resident.review": "同一人物の疑いの確認",
    "resident.recover": "誤った連携の解除・共通IDの統合（二人で確認）",
    "resident.notice.publish": "住民へのお知らせの掲載",
    "resident.keys": "住民の個人情報の暗号鍵の更新",
    "resident.signin.configure": "住民のサインイン（住民用レルム・認証事業者）の設定",
    "resident.portal.configure": "住民ポータルへの参加とご案内の設定",
    "group.read": "コミュニティ・ワーキンググループの閲覧",
    "group.staff": "自団体の職員が参加するワーキンググループの閲覧",
    "group.manage": "コミュニティ・ワーキンググループの運営",
    "meeting.read": "会議・議事録の閲覧",
    "meeting.manage": "会議の登録・議事録の作成と公開",
    "meeting.approve": "議事録の承認（作成者以外）",
    "account_review.read": "年度のアカウント棚卸しの閲覧",
    "account_review.start": "年度のアカウント棚卸しの開始",
    "account_review.attest": "アカウント棚卸しの判断の記録と完了の確認",
    "subcontract.read": "再委託の承認申請の閲覧（受託事業者は自社の申請のみ）",
    "subcontract.read_all": "すべての受託事業者の再委託の承認申請の閲覧",
    "subcontract.request": "再委託の承認申請・取下げ・終了の報告（受託事業者）",
    "subcontract.decide": "再委託の承認・不承認",
    "submission.read": "提出書類の閲覧（受託事業者は自社の書類のみ）",
    "submission.read_all": "すべての受託事業者の提出書類の閲覧",
    "submission.open": "受託事業者が提出する書類と提出期限の登録",
    "submission.submit": "提出書類の提出（受託事業者）",
    "submission.inspect": "提出書類の検査（承認・差戻し）",
    "rescreening.read": "会員の年次再確認の閲覧",
    "rescreening.manage": "会員の年次再確認の開始と差分データの取込み",
    "rescreening.decide": "年次再確認での会員ごとの判断",
    "rescreening.declare": "反社会的勢力でないことの宣誓の再確認（自団体）",
}


@dataclasses.dataclass(frozen=True)
class Grant:
    action: str
    all_tenants: bool
    tenant_codes: frozenset[str]

    def covers(self, tenant_code: str) -> bool:
        return self.all_tenants or tenant_code in self.tenant_codes


def _refuse(actor: Actor, action: str, tenant_code: str | None) -> NotPermitted:
    label = ACTION_LABELS_JA.get(action, action)
    if tenant_code:
        return NotPermitted(
            f"You may not do {action} for tenant {tenant_code}.",
            f"団体コード {tenant_code} について「{label}」を行う権限がありません。",
            action=action,
            tenant=tenant_code,
        )
    return NotPermitted(f"You may not do {action}.", f"「{label}」を行う権限がありません。", action=action)


def grant_for(actor: Actor, action: str) -> Grant | None:
    rules = POLICY.get(action)
    if rules is None:
        raise KeyError(f"no authorization rule for action {action!r}")
    scopes = {rules[role] for role in actor.roles if role in rules}
    if not scopes or (scopes == {"own"} and not actor.tenant_codes):
        return None  # an "own tenant" grant is nothing to someone who belongs to no tenant
    return Grant(action, "all" in scopes, actor.tenant_codes)


def authorize(actor: Actor, action: str, tenant_code: str | None = None) -> Grant:
    """The actor's grant for ``action`` (on ``tenant_code`` if given), or :class:`NotPermitted`."""
    grant = grant_for(actor, action)
    if grant is None or (tenant_code is not None and not grant.covers(tenant_code)):
        raise _refuse(actor, action, tenant_code)
    return grant


def allowed(actor: Actor, action: str, tenant_code: str | None = None) -> bool:
    try:
        authorize(actor, action, tenant_code)
    except NotPermitted:
        return False
    return True


def acting_for(actor: Actor, named: str | None, field: str, which_en: str, which_ja: str) -> str:
    """The party (a tenant's or an organisation's code) a person acts for: the one ``named`` in
    ``field``, else the only one they belong to; a person of several or none must say which."""
    if named:
        return named
    if len(actor.tenant_codes) == 1:
        return next(iter(actor.tenant_codes))
    raise Invalid(f"Say {which_en} ({field}): you belong to several or none.", f"{which_ja}（{field}）を指定してください。",
                  problems=[problem(field, "Required when you belong to several or none.",
                                    "複数の団体に所属している場合などは必須です。")])


def check_grantable(actor: Actor, roles: set[str] | frozenset[str]) -> None:
    """A municipal admin may hand out only municipal roles; only the operator grants the rest."""
    unknown = set(roles) - set(PEOPLE_ROLES)
    if unknown:
        raise NotPermitted(
            f"Unknown role(s): {', '.join(sorted(unknown))}.",
            f"存在しない役割です: {', '.join(sorted(unknown))}",
        )
    if OPERATOR in actor.roles:
        return
    grantable = grantable_roles(actor)
    beyond = set(roles) - grantable
    if beyond:
        names = "、".join(ROLE_LABELS_JA[r] for r in sorted(beyond))
        own = "・".join(ROLE_LABELS_JA[r] for r in sorted(grantable)) or "なし"
        raise NotPermitted(
            f"You may grant only {', '.join(sorted(grantable)) or 'no role'}, not {', '.join(sorted(beyond))}.",
            f"付与できる役割は{own}のみです（{names} は付与できません）。",
        )


def grantable_roles(actor: Actor) -> frozenset[str]:
    """The roles the actor may hand out: every role for the operator, a municipal admin the municipal
    roles, an organisation's admin the organisation roles."""
    if OPERATOR in actor.roles:
        return frozenset(PEOPLE_ROLES)
    return ((TENANT_ROLES if MUNICIPAL_ADMIN in actor.roles else frozenset())
            | (ORG_ROLES if ORG_ADMIN in actor.roles else frozenset()))
