"""Each distinct document laid out once a test process: ``weasyprint.HTML`` for the whole session.

The app makes every PDF it issues as ``weasyprint.HTML(string=...).write_pdf()`` (statements and letters, estimates,
the year's accounts, the service's reports). The tests build the same worlds again and again: the thirteen
municipalities' letters, the sample year, a month's report, each the same HTML in test after test. Laying it out
again was half of the billing tests' CPU (py-spy over tests/billing: ``HTML.write_pdf`` 51 % of the samples), and
WeasyPrint's output is a function of its input: the same HTML gives the same bytes (no date is written into the file).

So :class:`RenderedOnce` stands in for ``weasyprint.HTML`` in each test process (tests/conftest.py installs it):

* a document built from ``string=`` (and nothing else but keywords) and written with ``write_pdf()`` without
  arguments gets the bytes WeasyPrint made for the same keywords the first time, in this process;
* anything else (``render()``, ``write_pdf(target)``, a ``filename=``) goes to a real ``weasyprint.HTML``;
* every different document is still laid out by WeasyPrint, so a document that cannot be rendered still fails;
  a failure is not remembered;
* the remembered bytes are bounded (:data:`LIMIT`, the least recently used go first);
* where ``RENKEI_TEST_PDF_CACHE`` names a directory, every test process of the run shares what was laid out: a
  document is written there (named by the SHA-256 of its keywords and WeasyPrint's version, written whole and then
  renamed into place) and read back by the others. scripts/test.sh gives its sessions one, and CI gives both passes
  the same: the PostgreSQL pass lays out only what its database made different (the contract tests' replayed
  report requests were laid out a second time, about 0.6 s each).

A test that replaces ``weasyprint.HTML`` itself (with ``monkeypatch``) gets its own for its duration.
"""

from __future__ import annotations

import collections
import hashlib
import os
import tempfile
from pathlib import Path

LIMIT = 256 * 1024 * 1024  # bytes of PDF remembered by one test process


class RenderedOnce:
    rendered: collections.OrderedDict[tuple, bytes] = collections.OrderedDict()
    size = 0
    real = None  # weasyprint.HTML itself (set by install)

    def __init__(self, *args, **kwargs):
        self._args, self._kwargs, self._html = args, kwargs, None
        self._key = tuple(sorted((k, repr(v)) for k, v in kwargs.items())) if "string" in kwargs and not args else None

    def __getattr__(self, name):  # render(), for instance: the real document
        if name.startswith("_"):
            raise AttributeError(name)
        if self._html is None:
            self._html = self.real(*self._args, **self._kwargs)
        return getattr(self._html, name)

    def write_pdf(self, *args, **kwargs):
        if self._key is None or args or kwargs:
            return self.__getattr__("write_pdf")(*args, **kwargs)
        cls = type(self)
        pdf = cls.rendered.get(self._key)
        if pdf is not None:
            cls.rendered.move_to_end(self._key)
            return pdf
        shared = _shared_path(self._key)
        pdf = _read(shared)
        if pdf is None:
            pdf = self.__getattr__("write_pdf")()
            _write(shared, pdf)
        cls.rendered[self._key] = pdf
        cls.size += len(pdf)
        while cls.size > LIMIT and len(cls.rendered) > 1:
            _, dropped = cls.rendered.popitem(last=False)
            cls.size -= len(dropped)
        return pdf


def _shared_path(key: tuple) -> Path | None:
    """Where the run's processes share this document's bytes (``RENKEI_TEST_PDF_CACHE``), or None."""
    folder = os.environ.get("RENKEI_TEST_PDF_CACHE")
    if not folder:
        return None
    import weasyprint

    digest = hashlib.sha256(repr((weasyprint.__version__, key)).encode("utf-8", "surrogatepass")).hexdigest()
    return Path(folder) / f"{digest}.pdf"


def _read(path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def _write(path: Path | None, pdf: bytes) -> None:
    """The bytes in place whole or not at all (another process may read the name at any moment)."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(handle, "wb") as out:
            out.write(pdf)
        os.replace(temporary, path)
    except OSError:  # a full or missing disk costs a layout, nothing else
        return


def install() -> None:
    """``weasyprint.HTML`` becomes :class:`RenderedOnce` in this process (once; a second call changes nothing)."""
    import weasyprint

    if weasyprint.HTML is RenderedOnce:
        return
    RenderedOnce.real = weasyprint.HTML
    RenderedOnce.rendered = collections.OrderedDict()
    RenderedOnce.size = 0
    weasyprint.HTML = RenderedOnce
