"""The REST API under /api/v1: one module per domain, each an ``APIBlueprint`` (listed in
``admin/__init__``); this package holds what they share.

An endpoint is three steps: parse and validate (flask-openapi3 with pydantic models), authorise
(:func:`admin.auth.require`), call the operation. The request commits once (see ``admin/__init__``).
"""

from __future__ import annotations

from flask_openapi3 import Tag
from pydantic import BaseModel

API_PREFIX = "/api/v1"

BEARER = [{"bearer": []}]
SECURITY_SCHEMES = {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}


class Problem(BaseModel):
    """application/problem+json body."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    detail_en: str
    detail_ja: str
    errors: list[dict] = []


PROBLEM_RESPONSES = {401: Problem, 403: Problem, 404: Problem, 409: Problem, 422: Problem}


def tag(name: str, description: str) -> list[Tag]:
    return [Tag(name=name, description=description)]
