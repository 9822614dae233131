"""/api/v1 endpoints of usage."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, tag

bp = APIBlueprint("api_usage", __name__, url_prefix=API_PREFIX, abp_tags=tag("usage", "usage"),
                  abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)
