"""Charts on the admin pages: the templates' ``chart(c)`` (core/charts.py's figure, as markup) and
``chart_style()`` (the charts' own CSS, which a page with a chart puts in its head once, through
``renkei/_chart.html``)."""

from __future__ import annotations

from flask import Flask
from markupsafe import Markup

from core import charts


def chart(c: charts.Chart) -> Markup:
    return Markup(charts.figure(c))


def chart_style() -> Markup:
    return Markup(f"<style>{charts.CSS}</style>")


def init_app(app: Flask) -> None:
    app.add_template_global(chart)
    app.add_template_global(chart_style)
