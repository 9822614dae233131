"""Tables of onboarding and offboarding (see :mod:`tenancy.onboarding.lifecycle` and :mod:`tenancy.onboarding.saga`).

* :class:`ChecklistItem`: one item of a tenant's screening checklist (before approval) or of its
  data-handover checklist (opened at withdrawal), with who ticked it and when.
* :class:`ProvisioningStep`: the stored progress of the provisioning saga, one row per tenant and
  step; a failed step keeps its error until a retry finishes it.
* :class:`PlatformResource`: the names the platform team configures for the tenant (the FIWARE
  service for the ``Fiware-Service`` header, the data catalog organisation).
* :class:`TenantOnboarding`: per-tenant facts of joining and leaving: the first admin's username,
  the final-settlement flag billing reads after a withdrawal.
* :class:`SuspendedAccount`: the accounts a suspension disabled, so that resuming re-enables
  exactly those (and not someone an administrator had disabled on purpose).
"""

import dataclasses
import datetime as dt
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import core.db  # noqa: F401  (naming convention first)
import tenancy.registry.models  # noqa: F401  (the tenant table the foreign keys refer to)
from core.db import enum_column, utcnow
from core.lifecycle import Lifecycle, Move
from core.db import timestamp_column as _timestamp
from core.labelled import LabelledEnum, labels


@dataclasses.dataclass(frozen=True)
class ProvisioningStepName:
    name: str  # as stored in provisioning_step.step
    label_ja: str
    label_en: str


PROVISIONING_STEPS: tuple[ProvisioningStepName, ...] = (
    ProvisioningStepName("keycloak_group", "認証サーバー（Keycloak）の団体グループ作成", "Keycloak tenant group"),
    ProvisioningStepName("admin_invited", "最初の市町村管理者の招待", "first municipal admin invited"),
    ProvisioningStepName("default_quotas", "既定の利用上限の適用", "default quotas applied"),
    ProvisioningStepName("platform_resources", "基盤リソースの登録（FIWARE サービス名・データカタログ組織名）",
                         "platform resources registered (FIWARE service, data catalog organization)"),
)
"""The provisioning saga's steps, in order. The saga (:data:`tenancy.onboarding.saga.STEPS`) gives each
its action; the lifecycle's activation guard checks that each is done."""


class ChecklistItem(SQLModel, table=True):
    __tablename__ = "onboarding_checklist_item"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "checklist", "item", name="uq_onboarding_checklist_item_tenant_item"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    checklist: str = Field(max_length=16)  # "screening" or "handover"
    item: str = Field(max_length=64)
    checked: bool = Field(default=False)
    checked_at: Optional[dt.datetime] = Field(default=None, sa_column=_timestamp(nullable=True))
    checked_by: str = Field(default="", max_length=255)
    note: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))


class StepStatus(LabelledEnum):
    pending = "pending", "未実行", "Pending"
    done = "done", "完了", "Done"
    failed = "failed", "失敗", "Failed"


# A provisioning step is done or fails (and a failed one is run again by the retry); a tenant that
# applies again starts every step afresh.
STEPS_LIFECYCLE = Lifecycle("環境構築の手順", "provisioning step", StepStatus, labels(StepStatus), (
    Move("finish", frozenset({StepStatus.pending, StepStatus.failed}), StepStatus.done, "完了", "finish"),
    Move("fail", frozenset({StepStatus.pending, StepStatus.failed}), StepStatus.failed, "失敗", "fail"),
    Move("reset", frozenset(StepStatus), StepStatus.pending, "やり直し", "start afresh"),
), initial=(StepStatus.pending,))


class ProvisioningStep(SQLModel, table=True):
    __tablename__ = "provisioning_step"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "step", name="uq_provisioning_step_tenant_step"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    step: str = Field(max_length=32)
    status: StepStatus = Field(default=StepStatus.pending, sa_column=enum_column(StepStatus, length=16, checked=True))
    attempts: int = Field(default=0)
    last_error: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    result: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
    finished_at: Optional[dt.datetime] = Field(default=None, sa_column=_timestamp(nullable=True))


class PlatformResource(SQLModel, table=True):
    __tablename__ = "platform_resource"

    id: Optional[int] = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", sa_column_kwargs={"unique": True})
    fiware_service: str = Field(max_length=50, sa_column_kwargs={"unique": True})
    catalog_organization: str = Field(max_length=100, sa_column_kwargs={"unique": True})
    registered_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())


class TenantOnboarding(SQLModel, table=True):
    __tablename__ = "tenant_onboarding"

    id: Optional[int] = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", sa_column_kwargs={"unique": True})
    admin_username: str = Field(default="", max_length=255)
    final_settlement_due: bool = Field(default=False, index=True)
    final_settlement_done_at: Optional[dt.datetime] = Field(default=None, sa_column=_timestamp(nullable=True))


class SuspendedAccount(SQLModel, table=True):
    __tablename__ = "suspended_account"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "keycloak_user_id", name="uq_suspended_account_tenant_user"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    tenant_id: int = Field(foreign_key="tenant.id", index=True)
    keycloak_user_id: str = Field(max_length=64)
    username: str = Field(default="", max_length=255)
    suspended_at: dt.datetime = Field(default_factory=utcnow, sa_column=_timestamp())
