"""/api/v1 endpoints of users."""

from __future__ import annotations

from flask_openapi3 import APIBlueprint

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, tag

bp = APIBlueprint("api_users", __name__, url_prefix=API_PREFIX, abp_tags=tag("users", "users"),
                  abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)
