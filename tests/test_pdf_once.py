"""The tests' stand-in for ``weasyprint.HTML`` (tests/pdf_once.py): the same document's bytes, laid out once."""

from __future__ import annotations

import collections

import pytest

from tests import pdf_once


class Counting:
    """A ``weasyprint.HTML`` that counts its layouts; ``string`` "broken" cannot be laid out."""

    layouts: list[str] = []

    def __init__(self, string=None, filename=None, base_url=None):
        self.string = string if string is not None else f"file:{filename}"

    def write_pdf(self, target=None):
        if self.string == "broken":
            raise ValueError("cannot lay out")
        Counting.layouts.append(self.string)
        pdf = f"%PDF {self.string} #{len(Counting.layouts)}".encode()
        if target is not None:
            target.write(pdf)
            return None
        return pdf

    def render(self):
        return ("document", self.string)


@pytest.fixture
def once(monkeypatch):
    monkeypatch.delenv("RENKEI_TEST_PDF_CACHE", raising=False)  # the run's shared folder holds real documents only
    monkeypatch.setattr(Counting, "layouts", [])
    monkeypatch.setattr(pdf_once.RenderedOnce, "real", Counting)
    monkeypatch.setattr(pdf_once.RenderedOnce, "rendered", collections.OrderedDict())
    monkeypatch.setattr(pdf_once.RenderedOnce, "size", 0)
    return pdf_once.RenderedOnce


def test_the_same_document_is_laid_out_once_and_a_different_one_again(once):
    first = once(string="<p>請求書 431001</p>").write_pdf()
    again = once(string="<p>請求書 431001</p>").write_pdf()
    other = once(string="<p>請求書 432024</p>").write_pdf()
    assert first == again == b"%PDF <p>\xe8\xab\x8b\xe6\xb1\x82\xe6\x9b\xb8 431001</p> #1"
    assert other.endswith(b"#2")
    assert Counting.layouts == ["<p>請求書 431001</p>", "<p>請求書 432024</p>"]


def test_another_base_url_is_another_document(once):
    once(string="<p>x</p>", base_url="/a").write_pdf()
    once(string="<p>x</p>", base_url="/b").write_pdf()
    assert len(Counting.layouts) == 2


def test_a_document_that_cannot_be_laid_out_fails_every_time(once):
    for _ in range(2):
        with pytest.raises(ValueError, match="cannot lay out"):
            once(string="broken").write_pdf()


def test_anything_but_a_string_written_to_bytes_goes_to_weasyprint_each_time(once, tmp_path):
    import io

    for _ in range(2):
        once(filename="letter.html").write_pdf()
        target = io.BytesIO()
        once(string="<p>x</p>").write_pdf(target)
        assert target.getvalue().startswith(b"%PDF <p>x</p>")
    assert once(string="<p>x</p>").render() == ("document", "<p>x</p>")
    assert Counting.layouts == ["file:letter.html", "<p>x</p>", "file:letter.html", "<p>x</p>"]


def test_the_remembered_bytes_are_bounded_the_least_recently_used_dropped_first(once, monkeypatch):
    monkeypatch.setattr(pdf_once, "LIMIT", 40)
    a = once(string="a").write_pdf()  # 9 bytes each: "%PDF a #1"
    once(string="b").write_pdf()
    once(string="a").write_pdf()  # a used again: b is now the oldest
    once(string="c").write_pdf()
    once(string="d").write_pdf()
    once(string="e").write_pdf()  # over 40 bytes: b goes
    assert once(string="a").write_pdf() == a
    once(string="b").write_pdf()
    assert Counting.layouts == ["a", "b", "c", "d", "e", "b"]
    assert once.size <= 40


def test_the_session_lays_out_with_weasyprint_behind_the_stand_in():
    import weasyprint

    assert weasyprint.HTML is pdf_once.RenderedOnce
    html = '<html lang="ja"><body><p>負担金 1,234,000円</p></body></html>'
    assert weasyprint.HTML(string=html).write_pdf() == pdf_once.RenderedOnce.real(string=html).write_pdf()


def test_processes_sharing_a_folder_lay_a_document_out_once_between_them(once, monkeypatch, tmp_path):
    """A second process (its memory empty) reads what the first wrote to the run's folder; a document that
    differs is laid out; the folder holds whole files only."""
    monkeypatch.setenv("RENKEI_TEST_PDF_CACHE", str(tmp_path / "pdf"))
    first = once(string="<p>年次報告 令和8年度</p>").write_pdf()
    monkeypatch.setattr(pdf_once.RenderedOnce, "rendered", collections.OrderedDict())  # another process
    assert once(string="<p>年次報告 令和8年度</p>").write_pdf() == first
    once(string="<p>年次報告 令和7年度</p>").write_pdf()
    assert Counting.layouts == ["<p>年次報告 令和8年度</p>", "<p>年次報告 令和7年度</p>"]
    written = sorted(path.suffix for path in (tmp_path / "pdf").iterdir())
    assert written == [".pdf", ".pdf"]


def test_a_folder_that_cannot_be_written_costs_a_layout_and_nothing_else(once, monkeypatch, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("RENKEI_TEST_PDF_CACHE", str(blocked / "pdf"))
    assert once(string="<p>x</p>").write_pdf() == b"%PDF <p>x</p> #1"
    monkeypatch.setattr(pdf_once.RenderedOnce, "rendered", collections.OrderedDict())
    assert once(string="<p>x</p>").write_pdf() == b"%PDF <p>x</p> #2"
