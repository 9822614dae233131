"""The limit for API benchmarks: bare Flask returning a constant JSON body read from a file."""

import os

from flask import Flask, Response


def create() -> Flask:
    app = Flask(__name__)
    bodies = {}
    for name in ("one", "page"):
        with open(os.environ[f"BENCH_BODY_{name.upper()}"], "rb") as handle:
            bodies[name] = handle.read()

    @app.get("/one")
    def one():
        return Response(bodies["one"], mimetype="application/json")

    @app.get("/page")
    def page():
        return Response(bodies["page"], mimetype="application/json")

    return app
