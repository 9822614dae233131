"""The first usage chart of a serving process does not wait for matplotlib: the first request the
app serves starts importing it in the background; building the app (as every command does) and
the tests' app (TESTING) never import it.

Each case is a process of its own, as a command is: forked from the test worker's process that has imported renkei
and built an app once (tests/bench_preload.py), which is what every process of renkei imports; matplotlib is not
among it, or every case would find it ``built``.
"""

from __future__ import annotations

import json
import os

from tests.bench_preload import ROOT, Preloaded

CODE = """
import json, sys, threading
from admin import create_app
app = create_app({{"RENKEI_ENV": "development", "TESTING": {testing}, "SECRET_KEY": "warm-up-test",
                  "SQLALCHEMY_DATABASE_URI": "sqlite:///{db}", "RENKEI_VAR_DIR": {var!r}}})
built = "matplotlib" in sys.modules
served = None
if {serve}:
    status = app.test_client().get("/healthz").status_code
    for thread in threading.enumerate():
        if thread.name == "renkei-warm-charts":
            thread.join(120)
    served = "matplotlib.figure" in sys.modules and "matplotlib.backends.backend_agg" in sys.modules
print(json.dumps({{"built": built, "served": served}}))
"""


def _run(tmp_path, *, serve: bool, testing: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENKEI_")}
    script = tmp_path / "warm_up.py"
    script.write_text(CODE.format(testing=testing, db=tmp_path / "warm.db", var=str(tmp_path / "var"), serve=serve),
                      encoding="utf-8")
    code, stdout, stderr = Preloaded.run([str(script)], env, ROOT)
    assert code == 0, stderr
    return json.loads(stdout.strip().splitlines()[-1])


def test_a_serving_app_has_the_chart_library_ready_after_its_first_request(tmp_path):
    assert _run(tmp_path, serve=True) == {"built": False, "served": True}


def test_building_the_app_without_serving_never_imports_the_chart_library(tmp_path):
    assert _run(tmp_path, serve=False) == {"built": False, "served": None}


def test_the_test_app_does_not_import_it_for_a_request_without_a_chart(tmp_path):
    assert _run(tmp_path, serve=True, testing=True) == {"built": False, "served": False}
