"""The yearly survey's public answer page (/survey/<token>): no sign-in, the one-time link from the e-mail. A bad or
used link shows a page saying so; a refused answer comes back with the problem beside its field. The rules are
:mod:`secretariat.survey`'s."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from admin.extensions import db
from admin.problems import status_of
from admin.views.base import check_csrf, csrf_field
from core.errors import DomainError, Invalid
from secretariat import survey

public = Blueprint("survey", __name__, url_prefix="/survey")


def _page(token: str, status: int = 200, **shown):
    return render_template("renkei/survey_answer.html", token=token, csrf_field=csrf_field, **shown), status


@public.get("/<token>")
def answer_form(token: str):
    """What the link opens: the year's questions (a GET changes nothing: mail scanners open links)."""
    try:
        recipient = survey.recipient_of_token(db.session, token)
    except DomainError as error:
        return _page(token, status_of(error), failure=True)
    return _page(token, questions=survey.questions_of(db.session, recipient.fiscal_year), given={}, problems={})


@public.post("/<token>")
def answer_sent(token: str):
    check_csrf()
    given = {key[2:]: request.form.getlist(key) for key in request.form if key.startswith("q_")}
    try:
        survey.answer(db.session, token, given)
    except Invalid as error:
        db.session.rollback()
        recipient = survey.recipient_of_token(db.session, token)
        return _page(token, status_of(error), questions=survey.questions_of(db.session, recipient.fiscal_year),
                     given=given, problems={p["field"]: p for p in error.problems})
    except DomainError as error:
        db.session.rollback()
        return _page(token, status_of(error), failure=True)
    return _page(token, done=True)
