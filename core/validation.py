"""Turning pydantic validation errors into the bilingual problem list renkei shows, and the
field types every input schema shares (:data:`TenantCode`)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, StrictStr, ValidationError
from pydantic_core import PydanticCustomError

from core import codes
from core.errors import problem

# Japanese for pydantic's built-in error types a clerk is likely to meet.
_JA = {
    "missing": "必須項目です。",
    "extra_forbidden": "この項目は受け付けていません。",
    "int_type": "整数で入力してください。",
    "int_parsing": "整数で入力してください。",
    "string_type": "文字列で入力してください。",
    "string_too_short": "入力してください。",
    "string_too_long": "長すぎます。",
    "string_pattern_mismatch": "使用できない文字が含まれています。",
    "greater_than": "正の数で入力してください。",
    "greater_than_equal": "値が小さすぎます。",
    "less_than_equal": "値が大きすぎます。",
    "enum": "選択肢にない値です。",
    "list_type": "一覧（配列）で入力してください。",
    "model_type": "オブジェクトで入力してください。",
    "dict_type": "オブジェクトで入力してください。",
    "too_long": "件数が多すぎます。",
    "bool_type": "true または false で入力してください。",
}


def _valid_code(value: str) -> str:
    issue = codes.code_problem(value)
    if issue:
        raise PydanticCustomError("tenant_code", issue[0], {"message_ja": issue[1]})
    return value


# A local government code in any input schema: six digits with the right check digit (core.codes).
TenantCode = Annotated[StrictStr, AfterValidator(_valid_code)]


def field_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(body)"


def problems_from(error: ValidationError) -> list[dict[str, str]]:
    result = []
    for item in error.errors(include_url=False):
        ctx = item.get("ctx") or {}
        message_ja = ctx.get("message_ja") or _JA.get(item["type"], "入力内容を確認してください。")
        result.append(problem(field_path(item["loc"]), item["msg"], message_ja))
    return result
