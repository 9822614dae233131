"""The audit log (操作ログ): what its records are called, and the chain's verification. The append
(:func:`core.audit.record`) is the kernel's; reading records out, exports, archives and the purge are
:mod:`governance.audit_export`'s.

Invariants:

* Records are only ever appended. Nothing in renkei updates or deletes one except
  :func:`governance.audit_export.purge`, which archives them to a file first; the database refuses
  any other UPDATE or DELETE (triggers, see :data:`GUARD_DDL`).
* Each record stores ``prev_hash`` and ``hash = sha256(prev_hash + canonical payload)``, so a
  modified, deleted, inserted or reordered record breaks the chain at a point that
  :func:`verification` names.
* Appends are serialised on the single ``audit_chain_head`` row (:func:`core.chain.append`), so two
  concurrent writers cannot both extend the same hash.
* The record is written in the caller's transaction: if the operation rolls back, so does its
  audit record, and a refused act leaves no record claiming a change.
* After a purge, the chain in the database starts from the anchor (last purged seq and hash);
  the archive file holds the purged records and ends with a manifest naming the same hash, so
  archive and database together verify from the first record ever written. Verification from the
  anchor is the rule of every hash chain (:func:`core.chain.verify_table`); the audit log adds
  that its anchor must be named by the ``audit.purge`` record that moved it
  (:func:`core.audit.anchor_confirmed`).

Trust boundary: the triggers stop the application and anyone using its queries; a database
owner can drop them. What they cannot do unnoticed is change history without breaking the
chain, unless they rewrite every later record too. Writing down the head hash from
``renkei audit verify`` now and then (and checking it later with ``--checkpoint``) closes that gap.

Who may read it (the policy is :mod:`core.authz`): listing and exporting records
(:func:`governance.audit_export.read_records`, :func:`governance.audit_export.records_in_period`)
need ``audit.read``; verifying the chain
(:func:`verification`) needs ``audit.verify``. Each of these takes the actor and asks the policy
itself, so the API, the admin views and the command line cannot forget it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.audit import (AUDIT_ANCHOR, AUDIT_CHAIN, AUDIT_GUARD_DDL, GENESIS_HASH, AuditRecord, HASHED_FIELDS,
                        timestamp_text)
from core import authz
from core.actor import Actor
from core import chain
from core.chain import ChainBreak  # noqa: F401 (ChainBreak re-exported)
from core.db import utcnow

GUARD_DDL = AUDIT_GUARD_DDL


# --- labels of what the log records ---------------------------------------------------------------
# Every action string passed to core.audit.record / act, in Japanese and English
# (tests/admin/test_labels.py checks that every action the code records is here).

AUDIT_ACTION_LABELS: dict[str, tuple[str, str]] = {
    "tenant.create": ("参加団体の登録", "Tenant registered"),
    "tenant.import": ("参加団体の一括登録（ファイル取込）", "Tenants imported from a file"),
    "tenant.update": ("参加団体情報の変更", "Tenant updated"),
    "tenant.checklist": ("審査・引き渡し項目の確認", "Checklist item checked"),
    "tenant.screen": ("参加審査の開始", "Screening started"),
    "tenant.approve": ("参加の承認", "Tenant approved"),
    "tenant.start_provisioning": ("環境構築の開始", "Provisioning started"),
    "tenant.activate": ("利用開始", "Tenant activated"),
    "tenant.suspend": ("利用停止", "Tenant suspended"),
    "tenant.resume": ("利用再開", "Tenant resumed"),
    "tenant.withdraw": ("脱退", "Tenant withdrawn"),
    "tenant.reapply": ("再申請", "Tenant re-applied"),
    "tenant.provision": ("環境構築の実行", "Provisioning run"),
    "tenant.retry": ("環境構築の再実行", "Provisioning retried"),
    "tenant.final_settlement": ("脱退時の精算", "Final settlement"),
    "provisioning.keycloak_group": ("環境構築：認証サーバーの団体グループ作成", "Provisioning: Keycloak tenant group"),
    "provisioning.admin_invited": ("環境構築：最初の市町村管理者の招待", "Provisioning: first municipal admin invited"),
    "provisioning.default_quotas": ("環境構築：既定の利用上限の適用", "Provisioning: default quotas applied"),
    "provisioning.platform_resources": ("環境構築：基盤リソースの登録", "Provisioning: platform resources registered"),
    "onboarding.wave": ("参加募集の一括処理", "Onboarding wave"),
    "user.invite": ("利用者の招待", "User invited"),
    "user.invite.conflict": ("利用者の招待（既存アカウントと重複・招待せず）", "Invitation matched an existing account (nobody invited)"),
    "user.roles": ("利用者の役割の変更", "User roles changed"),
    "api_client.create": ("API クライアントの登録", "API client created"),
    "api_client.rotate": ("API クライアントのシークレットの更新", "API client secret rotated"),
    "api_client.edit": ("API クライアントの設定の変更", "API client settings changed"),
    "api_client.retire_credential": ("API クライアントの旧シークレットの無効化", "Rotated API client secret retired"),
    "api_client.revoke": ("API クライアントの失効", "API client revoked"),
    "api_client.disable": ("API クライアントの一時停止", "API client disabled"),
    "api_client.enable": ("API クライアントの再開", "API client enabled"),
    "api_client.change_requested": ("API クライアントの設定変更の申請（運営者の承認待ち）", "API client change requested (waits for approval)"),
    "api_client.approve": ("API クライアントの登録・変更の承認", "API client registration or change approved"),
    "api_client.reject": ("API クライアントの登録・変更の却下", "API client registration or change rejected"),
    "api_client.policy.update": ("API クライアントの方針の変更", "API client policy changed"),
    "user.enable": ("利用者の有効化", "User enabled"),
    "user.disable": ("利用者の無効化", "User disabled"),
    "user.remove": ("利用者の削除", "User removed"),
    "account_review.start": ("年度のアカウント棚卸しの開始", "Account review started"),
    "account_review.start_all": ("全市町村のアカウント棚卸しの開始", "Account review started for every municipality"),
    "account_review.decide": ("アカウント棚卸しの判断（継続・無効化・引継ぎ）", "Account review decision recorded"),
    "account_review.attest": ("アカウント棚卸しの完了の確認", "Account review attested done"),
    "subcontract.request": ("再委託の承認申請", "Subcontractor approval requested"),
    "subcontract.approve": ("再委託の承認", "Subcontract approved"),
    "subcontract.refuse": ("再委託の不承認", "Subcontract refused"),
    "subcontract.withdraw": ("再委託の承認申請の取下げ", "Subcontract request withdrawn"),
    "subcontract.end": ("再委託の終了", "Subcontract ended"),
    "rescreening.start": ("会員の年次再確認の開始", "Members' yearly re-screening started"),
    "rescreening.import": ("法人番号の差分データの取込み（年次再確認）", "Corporate number difference file imported (re-screening)"),
    "rescreening.decide": ("年次再確認の判断（継続・退会手続き・確認中）", "Re-screening decision recorded"),
    "rescreening.declare": ("反社会的勢力でないことの宣誓の再確認", "Declaration re-confirmed by the member"),
    "user.setup.resend": ("利用者の初回設定の再送", "User set-up sent again"),
    "user.password.reset": ("利用者のパスワードの再設定", "User password reset"),
    "quota.plan.change": ("利用上限プランの変更", "Quota plan changed"),
    "quota.assign": ("利用上限プランの割当て", "Quota plan assigned"),
    "quota.override": ("利用上限の個別設定", "Quota override set"),
    "usage.ingest": ("利用実績の受信", "Usage received"),
    "usage.purge": ("利用実績の削除（保存期間経過分）", "Usage purged (past retention)"),
    "billing.cost_item.create": ("費目の登録", "Cost item created"),
    "billing.cost_item.update": ("費目の変更", "Cost item changed"),
    "billing.cost_item.delete": ("費目の削除", "Cost item deleted"),
    "billing.budget.draft": ("予算案の作成", "Budget version drafted"),
    "billing.year.close_request": ("年度の締めの申請", "Fiscal year close requested"),
    "billing.year.close": ("年度の締め（決算の確定）", "Fiscal year closed"),
    "billing.year.close_withdraw": ("年度の締めの申請の取下げ", "Fiscal year close request withdrawn"),
    "billing.year.reopen": ("締めた年度の再開（協議会の議決）", "Fiscal year reopened by the council"),
    "billing.budget.adopt": ("予算の議決", "Budget adopted by the council"),
    "billing.grant.create": ("交付金の登録", "Grant entered"),
    "billing.grant.update": ("交付金の変更", "Grant changed"),
    "billing.grant.delete": ("交付金の削除", "Grant deleted"),
    "billing.grant.fix": ("交付金の額の確定の記録", "Grant's fixed amount recorded"),
    "billing.policy.create": ("負担割合方式の登録", "Allocation policy created"),
    "billing.policy.adopt": ("負担割合方式の採用", "Allocation policy adopted"),
    "billing.run.create": ("按分計算の実行", "Allocation run computed"),
    "billing.run.review": ("按分計算の確認", "Allocation run reviewed"),
    "billing.estimate.issue": ("負担金見込額の通知", "Cost-share estimates issued"),
    "billing.run.settle": ("精算の按分計算の実行", "Settlement run computed"),
    "billing.run.approve": ("按分計算の承認（会計帳簿へ計上）", "Allocation run approved (posted)"),
    "billing.letters.issue": ("納入通知書の発行（文書番号の付与）", "Letters issued (numbered)"),
    "billing.letter.reissue": ("納入通知書の再発行", "Letter reissued"),
    "billing.reminder.issue": ("督促状の発行（文書番号の付与）", "Payment reminder issued (numbered)"),
    "billing.letter.keep": ("発行済みの納入通知書のファイルの保管", "Issued letter's file kept"),
    "billing.estimate.keep": ("発行済みの見込額通知のファイルの保管", "Issued estimate letter's file kept"),
    "settings.update": ("県の設定（発行者・振込先・文書番号）の変更", "Prefecture settings changed"),
    "billing.run.reverse": ("按分計算の取消（逆仕訳）", "Allocation run reversed"),
    "billing.run.discard": ("按分計算の破棄", "Allocation run discarded"),
    "billing.payment.record": ("入金の記録", "Payment recorded"),
    "agreement.draft": ("協定・規約案の作成", "Agreement version drafted"),
    "agreement.publish": ("協定・規約の公開", "Agreement version published"),
    "agreement.accept": ("協定・規約への同意", "Agreement version accepted"),
    "council.propose": ("議案の提出", "Proposal made"),
    "council.vote": ("協議会での投票", "Vote cast"),
    "council.close": ("投票の締切・議決", "Voting closed"),
    "council.withdraw": ("議案の取下げ", "Proposal withdrawn"),
    "audit.purge": ("操作ログの保存期間経過分の削除（アーカイブ済み）", "Audit log purged (archived)"),
    "retention.due.export": ("廃棄対象一覧の書き出し（署名付き）", "Records due for disposal exported (signed)"),
    "retention.dispose": ("保存期間を過ぎた記録の廃棄", "Records past their retention disposed of"),
    "retention.year_archive": ("年度の記録の書き出し（署名付き）", "A fiscal year's records exported (signed)"),
    "system.backup": ("バックアップの作成", "Backup written"),
    "system.restore": ("バックアップからの復元", "Restored from a backup"),
    "keycloak.bootstrap": ("認証サーバーのレルムの設定", "Keycloak realm bootstrapped"),
    "keycloak.service_account": ("サービスアカウントの発行", "Service account issued"),
    "system.signing_key": ("署名鍵の作成・切替", "Signing key created or rotated"),
    "notice.publish": ("お知らせの掲載・送信", "Notice published"),
    "jobs.run": ("定期処理の実行", "Periodic job run"),
    "people.reindex": ("利用者の検索索引の再構築", "People index rebuilt from Keycloak"),
    "service.component.register": ("監視対象の登録", "Monitored component registered"),
    "service.component.active": ("監視対象の監視停止・再開", "Monitoring of a component stopped or resumed"),
    "service.maintenance.schedule": ("計画メンテナンスの登録・周知", "Planned maintenance scheduled and announced"),
    "service.maintenance.cancel": ("計画メンテナンスの中止・周知", "Planned maintenance cancelled and announced"),
    "service.settings": ("稼働率目標・監視設定の変更", "Service settings changed"),
    "service.outage.confirmed": ("障害の検知（監視）", "Outage confirmed by the monitor"),
    "service.outage.recovered": ("障害からの復旧（監視）", "Recovery after an outage"),
    "usage.report.send": ("月次利用実績報告の送付", "Monthly usage report queued"),
    "identity.incident.resolve": ("認証サーバーの不整合の解消", "Identity incident resolved"),
    # the incident register (service/incidents)
    "auth.sign_in": ("管理画面へのサインイン", "Signed in to the admin"),
    "service.monthly_report.write": ("月次運用報告の作成", "Monthly report written"),
    "service.monthly_report.send": ("月次運用報告の送付（県）", "Monthly report sent to the prefecture"),
    "service.monthly_report.download": ("月次運用報告（PDF・Excel）のダウンロード", "Monthly report downloaded"),
    "incident.open": ("障害の登録", "Incident opened"),
    "incident.edit": ("障害の重大度・影響範囲の変更", "Incident severity or affected parties changed"),
    "incident.recover": ("障害の復旧の記録", "Incident recovery recorded"),
    "incident.entry": ("障害の経過の記録", "Incident timeline entry"),
    "incident.report.first": ("障害の第一報の送付", "Incident first report sent"),
    "incident.close": ("障害の完了（最終報告の送付）", "Incident closed with the final report"),
    # consortium members (tenancy/members)
    "member.apply": ("入会申請", "Membership applied for"),
    "member.email_confirm": ("入会申請のメールアドレス確認", "Applicant's e-mail confirmed"),
    "member.document": ("提出書類の受領", "Document received"),
    "member.screen.check": ("入会審査項目の確認", "Screening item checked"),
    "member.checklist.add": ("入会審査項目の追加", "Screening criterion added"),
    "member.checklist.enable": ("入会審査項目の使用再開", "Screening criterion used again"),
    "member.checklist.disable": ("入会審査項目の使用停止", "Screening criterion no longer used"),
    "member.approve": ("入会の承認", "Membership approved"),
    "member.reject": ("入会の不承認", "Membership rejected"),
    "member.withdraw": ("会員の退会", "Member withdrawn"),
    "member.update": ("会員の登録内容の変更", "Member's details changed"),
    "member.change.approve": ("会員の登録内容の変更の承認", "Member's change of details approved"),
    "member.change.reject": ("会員の登録内容の変更の差戻し", "Member's change of details rejected"),
    "member.import": ("既存会員の一括取込", "Existing members imported"),
    "member.report": ("会員状況報告書の作成", "Member report generated"),
    "member.target": ("新規会員募集目標の設定", "Recruitment target set"),
    "member.export": ("会員一覧の出力", "Members list exported"),
    "report.annual.generate": ("年度報告書の作成", "Annual report generated"),
    "kpi.target": ("成果指標（KPI）の目標値の設定", "KPI targets set"),
    "report.results.generate": ("実績報告書（成果指標）の作成", "Results report generated"),
    "project.form": ("提案グループの結成", "Project group formed"),
    "project.change": ("提案グループの変更", "Project group changed"),
    "project.dissolve": ("提案グループの解散", "Project group dissolved"),
    # the dataset register (catalogue)
    "dataset.register": ("データセットの登録", "Dataset registered"),
    "dataset.update": ("データセットの変更", "Dataset changed"),
    "dataset.check": ("標準データセットの準拠確認", "Dataset file checked against its standard"),
    "dataset.submit": ("データセットの審査申請", "Dataset submitted for review"),
    "dataset.publish": ("データセットの公開", "Dataset published"),
    "dataset.refuse": ("データセットの差し戻し", "Dataset sent back"),
    "dataset.withdraw": ("データセットの公開終了", "Dataset withdrawn"),
    "dataset.import": ("データセット一覧の取り込み", "Datasets imported"),
    "dataset.remind": ("更新期限切れデータセットの督促", "Overdue datasets reminded"),
    "dataset.category.add": ("データセットの分野の追加", "Dataset category added"),
    "dataset.category.active": ("データセットの分野の使用停止・再開", "Dataset category stopped or used again"),
    "dataset.licence.add": ("データセットのライセンスの追加", "Dataset licence added"),
    "dataset.licence.active": ("データセットのライセンスの使用停止・再開", "Dataset licence stopped or used again"),
    "dataset.terms.revise": ("データセットの利用規約の改定", "Dataset terms of use revised"),
    "dataset.terms.accept": ("データセットの利用規約への同意", "Dataset terms of use accepted"),
    # personal data by consent (residents.consent)
    "consent.level.set": ("個人認証レベルの登録・変更", "Assurance level set"),
    "consent.service.register": ("データ利用サービスの登録", "Data service registered"),
    "consent.text.revise": ("同意文の改定（新しい版）", "Consent text revised"),
    "consent.service.approve": ("データ利用サービスの承認", "Data service approved"),
    "consent.service.suspend": ("データ利用サービスの一時停止", "Data service suspended"),
    "consent.service.resume": ("データ利用サービスの再開", "Data service resumed"),
    "consent.service.end": ("データ利用サービスの終了", "Data service ended"),
    "consent.give": ("本人同意の記録", "Consent recorded"),
    "consent.withdraw": ("本人同意の撤回の記録", "Consent withdrawal recorded"),
    "consent.expire": ("有効期限を過ぎた同意の期限切れの記録", "Expiry of consents recorded"),
    "consent.history.read": ("本人の同意・連携履歴の閲覧", "Person's consent history read"),
    "consent.linkage.search": ("連携記録の検索", "Linkage records searched"),
    "consent.linkage.service_read": ("サービスの連携記録の閲覧", "Service's linkage records read"),
    "consent.linkage.purge": ("連携記録の保存期間経過分の削除（アーカイブ済み）", "Linkage records purged (archived)"),
    # the secretariat's desk (secretariat/inquiries.py, secretariat/events.py)
    "inquiry.record": ("問合せの登録", "Inquiry recorded"),
    "inquiry.submit": ("問合せの受付（Web フォーム）", "Inquiry submitted (web form)"),
    "inquiry.assign": ("問合せの担当者の割当て", "Inquiry assigned"),
    "inquiry.start": ("問合せの対応開始", "Inquiry taken up"),
    "inquiry.answer": ("問合せへの回答", "Inquiry answered"),
    "inquiry.reply": ("問合せへの回答の送信", "Inquiry reply sent"),
    "inquiry.close": ("問合せの完了", "Inquiry closed"),
    "inquiry.reopen": ("問合せの再対応", "Inquiry reopened"),
    "inquiry.purge": ("問合せの個人情報の削除（保存期間経過）", "Inquiries' personal data removed (retention)"),
    "event.create": ("イベントの登録", "Event created"),
    "event.register": ("イベントへの参加登録", "Registered for an event"),
    "event.cancel": ("イベントの参加取消", "Event registration cancelled"),
    "event.promote": ("キャンセル待ちからの繰り上げ", "Moved up from the waiting list"),
    "event.attendance": ("イベントの出欠の記録", "Event attendance recorded"),
    "event.archive": ("イベントのアーカイブの登録", "Event archive link set"),
    "event.remind": ("イベントの開催案内の送信", "Event reminders queued"),
    "event.target": ("イベントの年度目標の設定", "Event target set"),
    # the project competition (competition/operations.py)
    "competition.call.create": ("企画コンペの公募の作成", "Competition call created"),
    "competition.call.publish": ("企画コンペの公募の公開", "Competition call published"),
    "competition.milestone.set": ("企画コンペの日程の変更", "Competition milestone moved"),
    "competition.question.ask": ("企画コンペへの質問", "Competition question asked"),
    "competition.question.answer": ("企画コンペの質問への回答", "Competition question answered"),
    "competition.answers.publish": ("企画コンペの質問回答の公開", "Competition answers published"),
    "competition.declare": ("企画コンペへの参加表明", "Participation declared"),
    "competition.propose": ("企画提案書・積算書の提出", "Proposal and estimate submitted"),
    "competition.reviewer.assign": ("企画コンペの審査員の指名", "Competition reviewer assigned"),
    "competition.conflict.declare": ("審査員の利害関係の申告", "Reviewer's conflict of interest declared"),
    "competition.score": ("企画提案の採点", "Proposal scored"),
    "competition.score.correct": ("企画提案の採点の修正", "Proposal's score corrected"),
    "competition.declaration.withdraw": ("企画コンペの参加表明の取下げ", "Declaration of participation withdrawn"),
    "competition.declaration.amend": ("企画コンペの参加表明書類の差替え", "Declaration's documents amended"),
    "competition.proposal.withdraw": ("企画提案書の取下げ", "Proposal withdrawn"),
    "competition.proposal.resubmit": ("企画提案書・積算書の再提出", "Proposal and estimate resubmitted"),
    "competition.review.close": ("企画コンペの審査の締切", "Competition review stage closed"),
    "competition.call.move": ("企画コンペの公募の段階の移行（審査開始・選定・終了・再開）",
                              "Competition call moved to its next stage (review, selection, closed, reopened)"),
    "competition.select": ("企画コンペの選定と結果通知", "Competition selection recorded and notified"),
    "competition.contract.create": ("委託契約の登録", "Commissioned project's contract recorded"),
    "competition.contract.deliver": ("委託事業の工程・成果物の完了", "Contract milestone or deliverable delivered"),
    "competition.contract.cost": ("委託契約の経費の交付金対象への計上", "Contract's cost entered under the grant"),
    # the year's schedule, issues and monthly report (secretariat/progress.py)
    "progress.item.add": ("年間予定の作業項目の登録", "Work item added to the schedule"),
    "progress.item.update": ("作業項目の変更（期限・担当者・状況）", "Work item changed"),
    "progress.issue.raise": ("課題の登録", "Issue raised"),
    "progress.issue.update": ("課題の変更（担当者・状況・対応結果）", "Issue changed"),
    "progress.report": ("進捗・課題管理報告書の作成", "Progress report generated"),
    # the residents' side (residents/, issue 42): who looked at whom and why is the view's record
    "resident.enrol": ("住民の登録（共通IDの発行または確認待ち）", "Resident enrolled (common ID issued or held for review)"),
    "resident.view": ("住民の個人情報の閲覧", "Resident's personal data viewed"),
    "resident.search": ("住民の氏名による検索（理由を記録）", "Residents searched by name (with a reason)"),
    "resident.review.decide": ("同一人物の疑いの判断", "Duplicate review decided"),
    "resident.link": ("住民とサービスのIDの連携", "Resident linked to a service's ID"),
    "resident.link_code.issue": ("連携用ワンタイムコードの発行（サービス）", "One-time link code issued (by a service)"),
    "resident.link_code.locked": ("誤った連携コードの繰り返しによる入力の一時停止（住民）",
                                  "Link codes refused for a while after repeated wrong codes (a resident)"),
    "resident.unlink": ("住民本人によるサービスとの連携の解除", "Link ended by the resident"),
    "resident.disclosure.set": ("住民の公開範囲（サービスが受け取れる項目）の設定", "Resident's disclosure range set"),
    "resident.key.rotate": ("住民の個人情報の暗号鍵の更新", "Residents' encryption key rotated"),
    "resident.realm.setup": ("住民用レルムの設定", "Residents' realm set up"),
    "resident.realm.erase": ("住民用レルムから基本4情報を消去", "基本4情報 erased from the residents' realm"),
    "resident.realm.accounts.delete": ("退会した住民のレルムのアカウントを削除", "Left resident's realm accounts deleted"),
    "resident.provider.add": ("住民の認証事業者の設定", "Residents' identity provider configured"),
    "resident.identity.renew": ("証明書の更新による認証事業者の識別子の連携", "Provider's new identifier linked (certificate renewal)"),
    "resident.claims.update": ("住民の基本4情報のサインイン時の更新（カードの情報）", "Resident's details updated from a sign-in's claims"),
    "resident.claims.review": ("サインイン時の基本4情報の変更の確認待ち（他の住民と一致）",
                               "A sign-in's changed details held for review (they match another resident)"),
    "resident.recovery.propose": ("誤った連携の解除・共通IDの統合の提案", "Split or merge proposed"),
    "resident.recovery.approve": ("誤った連携の解除・共通IDの統合の承認（実施）", "Split or merge approved (done)"),
    "resident.recovery.refuse": ("誤った連携の解除・共通IDの統合の却下", "Split or merge refused"),
    "resident.recovery.cancel": ("誤った連携の解除・共通IDの統合の取下げ", "Split or merge cancelled"),
    "resident.notice.publish": ("住民へのお知らせの掲載", "Notice to residents posted"),
    "resident.representation.record": ("法定代理人（親権者・成年後見人）の記録", "Legal representative recorded"),
    "resident.representation.end": ("法定代理人の代理の終了（窓口）", "Legal representation ended by the desk"),
    "resident.representation.act": ("法定代理人による本人のための手続き（ポータル）",
                                     "Act by a legal representative for the person (portal)"),
    "resident.data.download": ("住民本人による自分のデータのダウンロード", "A resident downloaded their own data"),
    "resident.leave": ("住民本人の退会（連携の終了・同意の撤回）", "A resident left (links ended, consents withdrawn)"),
    "resident.move_out": ("住民の転出（連携の終了・引継ぎ、同意の撤回）", "A resident moved out (links ended or carried, consents withdrawn)"),
    "resident.move_in": ("住民の転入（連携の引継ぎ）", "A resident moved in (links carried over)"),
    "resident.erase": ("退会した住民の個人情報と鍵情報の消去（保存期間後）", "A left resident's items and key material erased"),
    "resident.dispute": ("住民本人による記録への異議（問合せとして送信）", "A resident disputed a record (sent as an inquiry)"),
    "resident.file_register.publish": ("個人情報ファイル簿の公表の設定", "File register's publication set"),
    "resident.portal.configure": ("住民ポータルへの参加・ご案内の設定", "Residents' portal taking part and words set"),
    "resident.data_inquiry": ("住民本人によるデータの使われ方の問い合わせ（問合せとして送信）",
                              "A resident asked how their data is used (sent as an inquiry)"),
    "group.create": ("グループの登録", "Group created"),
    "group.target": ("グループの目標会員数の設定", "Group target set"),
    "group.join": ("グループへの会員の追加", "Member added to a group"),
    "group.leave": ("グループからの会員の削除", "Member removed from a group"),
    "mailing.create": ("会員へのメール配信の作成", "Mailing written"),
    "mailing.send": ("会員へのメール配信の送信", "Mailing sent"),
    "survey.question.create": ("年次アンケートの設問の追加", "Annual survey question added"),
    "survey.recipients.add": ("年次アンケートの送付先の追加", "Annual survey recipients added"),
    "survey.send": ("年次アンケートの回答用リンクの送付", "Annual survey links sent"),
    "mailing.unsubscribe": ("配信停止リンクによる案内メールの停止", "Announcements stopped by the unsubscribe link"),
    "mailing.preference": ("会員の案内メールの受信設定の変更", "Member's announcement preference changed"),
    "smartcity.service.create": ("スマートシティサービスの登録", "Smart-city service registered"),
    "smartcity.service.update": ("スマートシティサービスの変更", "Smart-city service changed"),
    "smartcity.service.move": ("スマートシティサービスの状態の変更", "Smart-city service's status changed"),
    "smartcity.idea.create": ("アイデアの登録", "Idea recorded"),
    "smartcity.idea.update": ("アイデアの変更", "Idea changed"),
    "smartcity.idea.move": ("アイデアの段階の変更", "Idea's stage changed"),
    "smartcity.need.create": ("市町の課題・ニーズの回答", "Municipality's need answered"),
    "smartcity.need.update": ("市町の課題・ニーズの回答の変更", "Municipality's need changed"),
    "smartcity.target": ("サービス掘り起こしの年度目標の設定", "Target of services found set"),
    "meeting.create": ("会議の登録", "Meeting recorded"),
    "meeting.update": ("会議の修正", "Meeting corrected"),
    "meeting.minutes": ("議事録の作成・修正", "Minutes written"),
    "meeting.approve": ("議事録の承認", "Minutes approved"),
    "meeting.return": ("議事録の差戻し", "Minutes returned"),
    "submission.open": ("提出書類の登録", "Owed document opened"),
    "submission.submit": ("書類の提出", "Document submitted"),
    "submission.adopt": ("既存の書類の取込み", "Earlier document taken in"),
    "submission.approve": ("提出書類の承認", "Submitted document approved"),
    "submission.return": ("提出書類の差戻し", "Submitted document returned"),
    "meeting.publish": ("議事録の公開", "Minutes published"),
    "meeting.download": ("議事録（PDF）のダウンロード", "Minutes downloaded"),
}
AUDIT_ACTION_LABELS_JA = {action: labels[0] for action, labels in AUDIT_ACTION_LABELS.items()}

AUDIT_TARGET_LABELS: dict[str, tuple[str, str]] = {
    "tenant": ("参加団体", "Tenant"),
    "member": ("会員団体", "Member organisation"),
    "rescreening": ("会員の年次再確認", "Members' yearly re-screening"),
    "screening_item": ("入会審査項目", "Screening criterion"),
    "project_group": ("提案グループ", "Project group"),
    "user": ("利用者", "User"),
    "wave": ("参加募集", "Onboarding wave"),
    "quota_plan": ("利用上限プラン", "Quota plan"),
    "quota_override": ("利用上限の個別設定", "Quota override"),
    "usage_batch": ("利用実績の送信", "Usage batch"),
    "usage_event": ("利用実績", "Usage events"),
    "cost_item": ("費目", "Cost item"),
    "grant": ("交付金", "Grant"),
    "budget": ("予算", "Budget"),
    "fiscal_year": ("年度", "Fiscal year"),
    "allocation_policy": ("負担割合方式", "Allocation policy"),
    "allocation_run": ("按分計算", "Allocation run"),
    "statement_document": ("納入通知書", "Letter"),
    "prefecture_settings": ("県の設定", "Prefecture settings"),
    "journal_entry": ("仕訳", "Journal entry"),
    "agreement_version": ("協定・規約の版", "Agreement version"),
    "council_proposal": ("議案", "Council proposal"),
    "audit_log": ("操作ログ", "Audit log"),
    "notice": ("お知らせ", "Notice"),
    "job": ("定期処理", "Periodic job"),
    "usage_report": ("月次利用実績報告", "Monthly usage report"),
    "identity_incident": ("認証サーバーの不整合", "Identity incident"),
    "incident": ("障害", "Incident"),
    "service_monthly_report": ("月次運用報告", "Monthly report"),
    "inquiry": ("問合せ", "Inquiry"),
    "event": ("イベント・研修", "Event"),
    "work_item": ("作業項目", "Work item"),
    "issue": ("課題", "Issue"),
    "event_target": ("イベントの年度目標", "Event target"),
    "competition_call": ("企画コンペの公募", "Competition call"),
    "competition_question": ("企画コンペの質問", "Competition question"),
    "competition_declaration": ("企画コンペの参加表明", "Declaration of participation"),
    "competition_proposal": ("企画提案書", "Proposal"),
    "competition_contract": ("委託契約", "Commissioned project's contract"),
    "group": ("コミュニティ・ワーキンググループ", "Group"),
    "mailing": ("会員へのメール配信", "Mailing"),
    "meeting": ("会議", "Meeting"),
    "api_client": ("API クライアント", "API client"),
    "dataset": ("データセット", "Dataset"),
    "dataset_category": ("データセットの分野", "Dataset category"),
    "dataset_licence": ("データセットのライセンス", "Dataset licence"),
    "assurance_level": ("個人認証レベル", "Assurance level"),
    "data_service": ("データ利用サービス", "Data service"),
    "consent_record": ("同意記録", "Consent record"),
    "linkage_record": ("連携記録", "Linkage records"),
    "person": ("本人（仮名識別子）", "Person (pseudonymous identifier)"),
    "keycloak_realm": ("認証サーバーのレルム", "Keycloak realm"),
    "service_account": ("サービスアカウント", "Service account"),
    "resident": ("住民（共通ID）", "Resident (common ID)"),
    "resident_review": ("同一人物の確認", "Duplicate review"),
    "service_link": ("サービスのIDとの連携", "Link to a service's ID"),
    "resident_key": ("住民の個人情報の暗号鍵", "Residents' encryption key"),
    "resident_disclosure": ("住民の公開範囲", "Resident's disclosure range"),
    "resident_recovery": ("誤った連携の解除・共通IDの統合", "Split or merge of residents' records"),
    "file_register": ("個人情報ファイル簿", "File register"),
    "smartcity_service": ("スマートシティサービス", "Smart-city service"),
    "smartcity_idea": ("アイデア", "Idea"),
    "smartcity_need": ("市町の課題・ニーズ", "Municipality's need"),
}

# Japanese names of the fields that records' before/after hold (the summaries of the operations).
AUDIT_FIELD_LABELS_JA: dict[str, str] = {
    # smart-city services, ideas and needs (secretariat.smart_services)
    "summary": "概要", "scope": "実施の範囲", "found_on": "掘り起こした日", "idea_ids": "もとになったアイデア",
    "workshop": "ワークショップ", "proposed_on": "提案日", "proposer_number": "提案した会員の法人番号",
    "proposer_name": "提案者", "idea_stage": "アイデアの段階", "service_field": "分野", "need_ids": "応える課題・ニーズ", "detail": "詳細",
    # the members' yearly re-screening (secretariat.rescreening)
    "decision": "判断", "declared": "宣誓の再確認", "declaration": "宣誓の文言", "files": "ファイル",
    "for_decision": "判断が必要な会員",
    # the secretariat's desk (secretariat.inquiries, secretariat.events)
    "inquiry_category": "問合せの分類", "inquiry_channel": "受付方法", "inquirer_kind": "問合せ者の区分",
    "inquiry_status": "問合せの状態", "member_number": "会員の法人番号", "dataset_uid": "データセット",
    "incident_ref": "障害の参照番号", "assignee": "担当者", "reply_id": "回答の番号", "notification_id": "通知の番号",
    "inquiry_id": "問合せの受付番号", "disputed_record": "異議の対象の記録",
    "inquiries": "問合せ", "event_kind": "イベントの種類", "event_audience": "イベントの対象", "starts_at": "開始日時",
    "capacity": "定員", "place": "会場", "online_url": "オンライン参加のアドレス", "archive_url": "アーカイブのアドレス",
    "registration_id": "参加登録の番号", "registration_status": "参加登録の状態", "member_registrant": "会員からの登録",
    "queued": "送信待ちにした件数", "attended": "出席者", "attendance": "参加者数の目標",
    # the year's schedule and issues (secretariat.progress)
    "item_due_on": "期限", "owner": "担当者", "owner_subject": "担当者の利用者 ID", "item_status": "作業項目の状況",
    "done_on": "完了日", "raised_on": "提起日", "raised_by": "提起者", "issue_status": "課題の状況",
    "issue_resolution": "対応結果", "resolved_on": "解決日", "done": "完了した作業項目", "late": "遅延している作業項目",
    "open_issues": "未解決の課題",
    # the residents' side (residents.operations)
    "common_id": "共通ID", "verification": "本人確認の方法", "match": "一致した情報",
    "matched": "一致した住民の共通ID", "issued": "発行した共通ID", "service_user_id": "サービスのID",
    "rewritten": "書き直した件数", "residents": "住民の数", "search_by": "検索の方法",
    "merged_common_id": "統合した共通ID", "proposed_by": "提案者", "decision_reason": "承認・却下の理由",
    "ended_at": "連携の終了日時", "marked": "印を付けた連携記録", "moved_links": "移した連携",
    "moved_identities": "移した認証事業者の識別子",
    "with_birth_date": "生年月日で絞り込み", "found": "該当した人数",
    # meetings and minutes (governance.meetings), the community and working groups (secretariat.groups)
    "minutes_status": "議事録の状態", "form": "議事録の形式", "notice_id": "お知らせの番号", "written_by": "議事録の作成者",
    "held_at": "開催日時", "attendees": "出席者", "agenda": "議題", "proposal_id": "議案の番号", "purpose": "目的",
    "target_members": "目標参加企業数",
    # 概算・精算 and 負担金見込額 (billing.allocation_runs, billing.estimates)
    "billing_month": "概算の請求月", "settles_run_id": "精算する概算の按分計算", "actual_total": "精算額（負担対象額）",
    "provisional_total": "概算額（負担対象額）", "differences": "差額（団体別）",
    # the prefecture's settings and the letters (billing.documents, tenancy.registry.prefecture)
    "issuer_title": "発行者（職名）", "issuer_name": "発行者の氏名", "office": "担当課", "office_address": "所在地",
    "office_phone": "電話番号", "office_email": "メールアドレス", "bank_name": "指定金融機関", "bank_branch": "支店名",
    "account_type": "預金種別", "account_number": "口座番号", "account_holder": "口座名義", "document_symbol": "文書記号",
    "payment_days": "納期限までの日数", "consortium_name": "コンソーシアムの名称", "issued_on": "発行日", "due_on": "納期限",
    "document_numbers": "文書番号", "document_number": "文書番号", "reissue_count": "再発行の回数",
    "reissued_on": "再発行日", "bases": "本社以外の拠点",
    "code": "団体コード", "tenant": "団体", "tenant_code": "団体コード", "tenants": "所属団体", "name": "名称",
    "name_ja": "名称", "name_en": "英語名称", "name_kana": "名称（かな）", "kind": "種別", "population": "人口",
    "population_source": "人口の出典", "status": "状態", "wave_fiscal_year": "参加年度", "user_seat_limit": "利用者数の上限",
    "contacts": "連絡先", "role": "役割", "department": "部署", "email": "メールアドレス", "phone": "電話番号",
    "id": "番号", "username": "ユーザー名", "enabled": "有効", "roles": "役割", "fiscal_year": "年度",
    "setup_email": "設定メールの送信", "one_time_password": "初期パスワードの発行",
    "category": "区分", "category_ja": "区分", "amount": "金額", "invoiced_amount": "請求額",
    "tax_treatment": "消費税の扱い", "tax_amount": "消費税額", "vendor": "委託先", "reference": "参照番号",
    "amortisation_years": "償却年数", "amortisation_index": "償却の年次", "document": "文書", "number": "版",
    "title": "件名", "effective_on": "施行日", "required": "同意必須", "content_hash": "本文のハッシュ値",
    "deadline_on": "同意期限", "reacceptance_days": "再同意の期間（日）", "resolution_id": "議決", "posted_on": "計上日",
    "entries": "仕訳", "total": "合計", "version": "版", "prefecture_share": "県負担", "components": "構成要素",
    "floor": "下限額", "cap": "上限額", "resolution_ref": "協議会の議決", "in_words": "内容", "description": "説明",
    "reason": "理由", "note": "メモ", "review_note": "確認メモ", "checklist": "確認項目の種類", "item": "確認項目",
    "checked": "確認済み", "transition": "操作", "from": "変更前", "to": "変更後", "from_status": "変更前の状態",
    "to_status": "変更後の状態", "plan": "利用上限プラン", "plan_code": "利用上限プラン", "metric": "計測項目",
    "limit": "上限", "enforcement": "超過時の扱い", "enforcement_from": "超過時の扱いの決め方", "thresholds": "通知する利用率（%）", "limits": "上限",
    "choice": "投票", "change_type": "議案の種類", "params": "議案の内容", "quorum": "定足数", "threshold": "議決要件",
    "opens_at": "投票開始", "closes_at": "投票締切", "electorate": "投票権のある団体", "adopted": "可決",
    "votes_for": "賛成", "votes_against": "反対", "votes_abstain": "棄権", "members": "構成団体数",
    "rows": "行数", "active": "利用開始した団体", "not_active": "利用開始しなかった団体", "steps": "処理の内訳",
    "action": "操作", "target_type": "対象の種類", "target_id": "対象", "received_on": "入金日", "accepted": "受理",
    "events": "件数", "counted": "集計した件数", "duplicates": "重複", "cutoff": "基準日時", "deleted": "削除件数",
    "through": "削除した範囲", "archive_name": "アーカイブファイル", "archive_sha256": "アーカイブのハッシュ値",
    "purged_through_seq": "削除した最後の番号", "purged_through_hash": "削除した最後のハッシュ値",
    "accepted_at": "同意日時", "accepted_by": "同意者", "user": "利用者", "result": "結果", "error": "エラー",
    "retention_days": "保存期間（日）", "four_eyes": "承認者の分離", "single_person_office": "一人体制の例外",
    "single_person_approval": "一人体制での承認", "reacceptance_tenants": "再同意を求めた団体", "resolution": "議決",
    "alerts": "警告", "amounts": "金額", "archive": "アーカイブ", "count": "件数", "final_settlement_due": "精算が必要",
    "first_seq": "最初の番号", "policy_id": "負担割合方式", "proposal": "議案", "received": "受信件数",
    "retention_months": "保存期間（月）", "reversal_entries": "逆仕訳", "reversed_on": "取消日", "source": "出典",
    "step": "手順", "through_hash": "削除した最後のハッシュ値", "through_seq": "削除した最後の番号",
    "amortised_from_id": "償却の初年度の費目", "audience": "宛先", "show_until": "掲載終了日", "body": "本文", "subject": "件名",
    # policies, runs and the ledger (billing.operations, billing.allocation_policies, billing.allocation_runs)
    "adopted_at": "採用日時", "adopted_by": "採用した人", "previously_adopted": "それまで採用していた按分方式",
    "created_at": "登録日時", "created_by": "登録者", "reviewed_by": "確認者", "approved_by": "承認者",
    "reversed_by": "取消者", "reversal_reason": "取消の理由", "computed_at": "計算日時", "policy": "負担割合方式",
    "prefecture": "県", "prefecture_code": "県の団体コード", "cost_items": "費目", "participants": "参加団体",
    "months": "参加月数", "usage": "利用量", "municipal_total": "市町村の負担合計", "scale": "按分の係数",
    "lines": "明細", "snapshot": "計算時点の内容", "tenant_name": "団体名", "is_prefecture": "県", "bound": "上下限の適用",
    "basis": "配分の基準", "weight": "比重", "participating": "参加団体のみ", "with_applicants": "申込中の団体を含む",
    "review": "確認", "approve": "承認", "reverse": "取消", "discard": "破棄", "field": "項目", "message_ja": "内容",
    "message_en": "内容（英語）", "status_ja": "状態",
    # grants (billing.grants)
    "grantor": "交付元", "rate": "補助率", "categories": "交付対象経費の区分", "categories_ja": "交付対象経費の区分",
    "item_ids": "交付対象の費目", "applied_amount": "申請額", "decided_amount": "交付決定額", "decided_on": "交付決定日",
    "decision_reference": "交付決定通知の番号", "fixed_amount": "確定額", "fixed_on": "額の確定日", "grants": "交付金",
    "cost_total": "事業費", "grant_total": "交付金充当額", "eligible": "交付対象経費", "by_rate": "補助率による額",
    "capped": "上限額の適用",
    # budgets (billing.budgets)
    "contract_ceiling": "委託上限額", "budget_id": "予算",
    # the year's close (billing.year_close)
    "closable_from": "締めが可能になる日", "requested_by": "申請者", "requested_at": "申請日時", "closed_by": "締めた人",
    "closed_at": "締めた日時", "statement_sha256": "収支決算のハッシュ値", "reopen_resolution_id": "再開の議決",
    "revenue": "収入", "revenue_total": "収入合計", "expenditure": "支出", "expenditure_total": "支出合計",
    "balance": "収支差額", "outstanding": "未収額", "era": "年度（和暦）",
    # agreements and the council (governance)
    "accepted_number": "同意した版", "current_number": "現行の版", "required_number": "同意が必要な版",
    "state": "同意の状況", "documents": "文書", "earliest_deadline": "最も早い同意期限", "in_reacceptance": "再同意中",
    "overdue": "期限切れ", "tenant_status": "団体の状態", "body_md": "本文", "for": "賛成", "against": "反対",
    "abstain": "棄権", "ref": "参照番号", "majority": "過半数", "two_thirds": "3分の2以上", "three_quarters": "4分の3以上",
    "unanimous": "全会一致", "seq": "番号", "hash": "ハッシュ値", "prev_hash": "前の記録のハッシュ値",
    "request_id": "要求番号", "source_ip": "送信元IPアドレス", "actor": "操作者", "actor_name": "操作者",
    "actor_role": "操作者の役割", "actor_issuer": "認証基盤", "actor_subject": "認証基盤での利用者番号",
    "occurred_at": "日時", "before": "変更前", "after": "変更後", "last_seq": "最後の番号", "last_hash": "最後のハッシュ値",
    "records_sha256": "記録のハッシュ値", "manifest": "内容の一覧", "start_hash": "最初のハッシュ値", "format": "形式",
    # onboarding and identity (tenancy), the usage meter (usage)
    "admin_invited": "管理者の招待", "admin_username": "管理者のユーザー名", "agreements_accepted": "協定への同意",
    "application_received": "申込書の受領", "eligibility_confirmed": "参加資格の確認",
    "no_antisocial_ties": "反社会的勢力でないことの確認", "active_municipalities": "利用中の市町村数",
    "allowed_transitions": "可能な操作", "awaiting_activation": "利用開始待ち", "awaiting_screening": "審査待ち",
    "provisioning": "環境の構築", "provisioning_failures": "環境構築の失敗", "failed_step": "失敗した手順",
    "failed_step_label_ja": "失敗した手順", "step_label_ja": "手順", "step_label_en": "手順（英語）",
    "status_label_ja": "状態", "label_ja": "名称", "label_en": "英語名称", "checked_at": "確認日時", "checked_by": "確認者",
    "checklists": "確認項目", "catalog_organization": "カタログの組織", "fiware_service": "データ基盤のサービス名",
    "keycloak_group": "利用者グループ", "group_id": "グループ番号", "path": "パス", "platform_resources": "基盤の資源",
    "default_quotas": "既定の利用上限", "created": "作成", "setup_email_sent": "設定メールの送信", "user_id": "利用者番号",
    "users_disabled": "無効にした利用者", "users_enabled": "有効にした利用者", "users_removed": "削除した利用者",
    "resume": "再開", "suspend": "一時停止", "withdraw": "脱退", "timeline": "経過", "finished_at": "完了日時",
    "attempts": "試行回数", "at": "日時", "columns": "列", "counts": "件数", "waves": "参加年度", "issuer": "認証基盤",
    "permissions": "権限", "allowed": "可否", "as_of": "時点", "remaining": "残り", "used": "使用量", "period": "期間",
    "percent": "利用率（%）", "max_staleness_seconds": "許容する集計の遅れ（秒）", "population_min": "人口の下限",
    "population_max": "人口の上限", "small": "小規模", "medium": "中規模", "large": "大規模",
    "api_calls": "API呼び出し回数", "broker_entities": "エンティティ数", "datasets": "データセット数",
    "storage_bytes": "保存容量（バイト）", "user_seats": "利用者数", "batch_id": "一括送信の番号", "event_id": "計測の番号",
    "event_ids": "計測の番号", "index": "順番", "occurred": "発生", "quantities": "数量", "quantity": "数量",
    "timestamp": "日時", "tenant_codes": "団体", "metrics": "計測項目", "granularity": "集計の単位",
    "granularities": "集計の単位", "last_at": "最終日時", "last_ats": "最終日時", "last_value": "最終値",
    "last_values": "最終値", "peak": "最大値", "peaks": "最大値", "period_start": "期間の開始", "periods": "期間",
    "totals": "合計",
    # the dataset register (catalogue.operations)
    "provider": "提供者", "title_ja": "タイトル", "access": "公開範囲", "licence": "ライセンス",
    "standard_kind": "標準データセットの種類", "conformant": "準拠", "problems": "問題の件数", "filename": "ファイル名",
    "reminders": "督促の件数", "in_use": "使用中", "title_en": "英語の名称", "url": "アドレス", "own_terms": "独自の利用規約",
    # personal data by consent (residents.consent)
    "subject_id": "本人の識別子（仮名）", "service_id": "データ利用サービス", "method": "同意の方法",
    "assurance_level": "個人認証レベル", "receipt_id": "同意記録の番号", "text_id": "同意文", "first_day": "期間の開始日",
    "last_day": "期間の終了日", "consents": "同意記録の件数", "linkages": "連携記録の件数", "controller": "管理者（責任主体）",
    "controller_contact": "管理者の連絡先", "owner_code": "登録団体",
    "required_level": "必要な個人認証レベル", "api_client_id": "API クライアント",
    "responsibility": "責任分界", "level": "レベル", "purposes": "利用目的", "items": "データ項目",
    "item_datasets": "データ項目の出所（データセット）", "optional_purposes": "同意した任意の利用目的",
    "receipts": "書いた期限切れの同意記録", "expired": "期限切れになった同意",
    # people, members and acts in several steps (tenancy.identity, tenancy.members, core.audit.act)
    "full_name": "氏名", "first_name": "名", "last_name": "姓", "outcome": "結果", "representative": "代表会員",
    "added": "加わった会員", "removed": "外れた会員", "search": "検索条件", "dissolved": "解散",
    "corporate_number": "法人番号", "in_prefecture": "県内に拠点あり", "decoy": "実在しない招待（重複の秘匿）",
    "invited": "招待した", "taken": "使用済みの項目",
    # who adopts an allocation policy (billing.allocation_policies.adopt_policy)
    "drafted_by": "作成した人", "by": "採用の根拠", "second_officer": "採用した別の財政担当者", "label": "名称",
    "decided_at": "議決日時", "council_resolution": "協議会の議決", "second_finance_officer": "別の財政担当者による採用",
    "single_finance_officer": "一人体制の財政担当者による採用",  # RENKEI_FOUR_EYES off
    # the secretariat's member import and report (secretariat.members_import, secretariat.member_report)
    "updated": "更新した会員", "unchanged": "変更のない会員", "notified": "知らせた相手（お知らせ・メール）",
    "member_count": "期末の会員数", "joined": "入会", "left": "退会", "sha256": "ファイルのハッシュ値",
    "bytes": "ファイルの大きさ（バイト）", "target": "新規会員の募集目標", "industry": "業種", "size_band": "規模",
    "employees": "従業員数", "capital_yen": "資本金", "municipality_code": "市区町村コード", "joined_on": "入会日",
    # the grant's results report (service.kpis): a year's targets and actual figures per indicator
    "targets": "目標値", "actual": "実績値", "municipalities": "参加市町村数", "services": "データ利用サービス数",
    # the incident register (service.incidents)
    "severity": "重大度", "detected_at": "検知日時", "recovered_at": "復旧日時", "affected_components": "影響を受けた構成要素",
    "affected_tenants": "影響を受けた市町村", "affected_members": "影響を受けた会員",
    "recipients": "県の送付先", "cause": "原因", "impact": "影響", "response": "対応", "prevention": "再発防止策",
    "text": "記録の内容",
    # the project competition (competition/): the call, its questions, declarations, proposals, review, selection
    "call_id": "公募番号", "cap_yen": "委託限度額（円・税込）", "commission_count": "委託予定件数", "milestones": "日程の数",
    "total_points": "配点の合計", "key": "項目", "question": "質問", "answer": "回答", "unanswered": "未回答の質問",
    "published": "公開した件数", "register_published": "個人情報ファイル簿の公表", "published_at": "公開日時", "group_name": "提案グループ名", "size": "ファイルの大きさ（バイト）",
    "pages": "ページ数", "amount_yen": "金額（円）", "total_yen": "合計（円・税込）", "reviewer": "審査員", "stage": "審査",
    "marks": "採点", "criterion_id": "評価項目の番号", "passed": "課題要件への適合（可）", "points": "得点", "comment": "講評",
    "selected": "選定", "letters": "通知書", "receipt": "受付番号", "call_status": "公募の段階の移行", "move": "移行",
    "stages_reopened": "取り消した審査の締切",
    # applicants' rights before a deadline and corrected scores (competition/versions.py, review.correct_score)
    "withdrawn": "取下げ", "proposal_withdrawn": "あわせて取り下げた企画提案書の版",
    # reviewers who are who they say (issue 59 item 3)
    "organisation": "所属", "corporate_numbers": "所属の法人番号",
}


# --- people the log names ------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class KnownPerson:
    """A person as renkei's own records know them: ``name`` 「田中 太郎」, ``login`` their user name."""

    name: str | None
    login: str | None


def _named_in(payload: str | None) -> tuple[str | None, str | None]:
    try:
        data = json.loads(payload) if payload else None
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    name = data.get("full_name") if isinstance(data.get("full_name"), str) else None
    if not name and isinstance(data.get("last_name"), str):  # 「姓 名」 as an account's display name reads
        name = f"{data.get('last_name') or ''} {data.get('first_name') or ''}".strip() or None
    login = data.get("username") if isinstance(data.get("username"), str) else None
    return name or None, login or None


def known_people(session: Session, user_ids: Iterable[str]) -> dict[str, KnownPerson]:
    """Names of people (Keycloak user ids) from the log itself, for records written before user acts
    stored them (issue 25; old records are never changed): the newest record about the person that
    carries their name and login (acts since names are stored), and else the name they acted under
    (a record whose actor they were). Three indexed queries whatever the size of the log
    (``ix_audit_record_target``, ``ix_audit_record_actor_subject``); renkei keeps no other directory
    of people, and Keycloak is not asked (a page of the log must not wait on a call per row). A person
    the log knows nothing more of is not in the answer."""
    ids = sorted({i for i in user_ids if i})
    if not ids:
        return {}
    found: dict[str, list[str | None]] = {}
    for marker in ('"full_name"', '"username"'):
        wanted = [i for i in ids if not (found.get(i) or [None, None])[0]]
        if not wanted:
            break
        newest = (sa.select(sa.func.max(AuditRecord.seq)).where(
            AuditRecord.target_type == "user", AuditRecord.target_id.in_(wanted),
            sa.or_(AuditRecord.after.like(f"%{marker}%"), AuditRecord.before.like(f"%{marker}%")))
            .group_by(AuditRecord.target_id))
        for target_id, before, after in session.execute(sa.select(AuditRecord.target_id, AuditRecord.before,
                                                                  AuditRecord.after).where(AuditRecord.seq.in_(newest))):
            name, login = _named_in(after)
            if not (name or login):
                name, login = _named_in(before)
            known = found.setdefault(target_id, [None, None])
            known[0], known[1] = known[0] or name, known[1] or login
    wanted = [i for i in ids if not (found.get(i) or [None, None])[0]]
    if wanted:
        newest = (sa.select(sa.func.max(AuditRecord.seq)).where(AuditRecord.actor_subject.in_(wanted),
                                                                AuditRecord.actor_name != "")
                  .group_by(AuditRecord.actor_subject))
        for subject, name in session.execute(sa.select(AuditRecord.actor_subject, AuditRecord.actor_name)
                                             .where(AuditRecord.seq.in_(newest))):
            if name and name != subject:
                found.setdefault(subject, [None, None])[0] = name
    return {i: KnownPerson(name, login) for i, (name, login) in found.items() if name or login}


# --- verification ---------------------------------------------------------------------------------

_COLUMNS = tuple(AuditRecord.__table__.columns)


def iter_records(session: Session, batch: int = 5000, *, after_seq: int = 0,
                 through_seq: int | None = None) -> Iterator[sa.Row]:
    """Records in sequence order as read-only rows (attribute access like a record), in batches:
    the log may be large, and plain rows skip the ORM's identity map (:func:`core.chain.iter_entries`)."""
    return chain.iter_entries(session, AuditRecord.__table__, batch, after_seq=after_seq, through_seq=through_seq)


def anchor_of(session: Session) -> tuple[int, str]:
    """(seq, hash) where the chain in the database starts: the last purged record, or the genesis."""
    return AUDIT_ANCHOR.read(session)


@dataclasses.dataclass(frozen=True)
class Verification:
    """The result of verifying the log in the database."""

    intact: bool
    checked: int
    first_seq: int | None
    last_seq: int
    head_hash: str
    anchor_seq: int
    anchor_hash: str
    archive_name: str
    archive_sha256: str
    broken: ChainBreak | None
    checked_at: dt.datetime
    # where this walk started: the anchor (a full verification) or a trusted checkpoint (incremental)
    verified_from_seq: int = 0
    from_checkpoint: bool = False

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["checked_at"] = timestamp_text(self.checked_at)
        del data["verified_from_seq"], data["from_checkpoint"]  # the API's answer keeps its shape
        return data


def verification(session: Session, actor: Actor, checkpoints: Sequence[tuple[int, str]] = ()) -> Verification:
    """Verify the stored chain from the anchor, its end against the chain head, the anchor against
    the purge record that wrote it, and any checkpoints (``audit.verify``): the rule of every chain,
    :func:`core.chain.verify_table`."""
    authz.authorize(actor, "audit.verify")
    return _verification(session, checkpoints)


@dataclasses.dataclass(frozen=True)
class LogSummary:
    """The log at a glance, without verifying it: records kept, the last 30 days, the purge anchor."""

    records: int
    last_30_days: int
    first_at: dt.datetime | None
    last_at: dt.datetime | None
    purged: int


def verification_since(session: Session, actor: Actor, checkpoint: tuple[int, str] | None) -> Verification:
    """Verify only the records after a trusted checkpoint (``audit.verify``): that the checkpoint's
    record still has the checkpoint's hash, that every later record follows it, and the end against
    the chain head. Records up to the checkpoint are NOT re-hashed (the full verification that wrote
    the checkpoint covered them; ``renkei audit verify`` and ``renkei check`` still walk everything).
    Without a checkpoint, or one in the purged part, this is the full verification from the anchor;
    ``from_checkpoint`` tells which was done."""
    authz.authorize(actor, "audit.verify")
    return _verification(session, start=checkpoint)


RECENT_DAYS = 30  # "recent" records: the home page's count and the log's list (?recent=30) of them


def recent_records(now: dt.datetime | None = None):
    """The records of the last RECENT_DAYS days, as a filter: one definition for the count and the list."""
    return AuditRecord.occurred_at >= (now or utcnow()) - dt.timedelta(days=RECENT_DAYS)


def log_summary(session: Session, actor: Actor, *, now: dt.datetime | None = None) -> LogSummary:
    """Counts of the audit log (``audit.read``): each read alone, so that each is answered from an index
    (the first and the latest record from ix_audit_record_occurred_at's ends, the recent ones from a
    range of it) instead of one pass over every record."""
    authz.authorize(actor, "audit.read")
    count = session.scalar(sa.select(sa.func.count()).select_from(AuditRecord))
    first_at = session.scalar(sa.select(sa.func.min(AuditRecord.occurred_at)))
    last_at = session.scalar(sa.select(sa.func.max(AuditRecord.occurred_at)))
    last_30 = session.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(recent_records(now)))
    anchor = AUDIT_ANCHOR.row(session)
    return LogSummary(int(count or 0), int(last_30 or 0), first_at, last_at, anchor.purged_count if anchor else 0)


def _verification(session: Session, checkpoints: Sequence[tuple[int, str]] = (),
                  start: tuple[int, str] | None = None) -> Verification:
    status = chain.verify_table(session, AUDIT_CHAIN, checkpoints, start=start)
    head_seq, head_hash = status.head or (0, GENESIS_HASH)
    return Verification(
        intact=status.broken is None, checked=status.checked, first_seq=status.first_seq,
        last_seq=head_seq, head_hash=head_hash, anchor_seq=status.anchor_seq, anchor_hash=status.anchor_hash,
        archive_name=status.archive[0], archive_sha256=status.archive[1], broken=status.broken,
        checked_at=utcnow(), verified_from_seq=status.from_seq, from_checkpoint=status.from_checkpoint,
    )


def verify_database(session: Session) -> ChainBreak | None:
    """The first broken link of the log in the database, or None when it is intact."""
    return _verification(session).broken


# --- serialisation: one record as plain values, the log's JSON -----------------------------------

RECORD_FIELDS = ("seq", "occurred_at", *[f for f in HASHED_FIELDS if f != "seq"], "prev_hash", "hash")


def record_dict(entry: AuditRecord) -> dict[str, Any]:
    """A record as plain values, exactly as hashed (``before``/``after`` stay the stored JSON text)."""
    values = entry._mapping if isinstance(entry, sa.Row) else None
    data = {name: values[name] for name in RECORD_FIELDS} if values is not None else \
        {name: getattr(entry, name) for name in RECORD_FIELDS}
    data["occurred_at"] = timestamp_text(entry.occurred_at)
    return data


# The one canonical JSON of the log's files (exports, archives, manifests): every chain's
# (core.chain.CANONICAL_JSON).
_JSON = chain.CANONICAL_JSON
