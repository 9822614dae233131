"""Each part of the interface may keep its own .po file; all of a language's files are compiled into one catalogue."""

import gettext

from admin import i18n

PO = '''msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"

msgid "{msgid}"
msgstr "{msgstr}"
'''


def test_every_po_file_of_a_language_is_merged_into_messages_mo(tmp_path, monkeypatch):
    source = tmp_path / "src"
    lc = source / "ja" / "LC_MESSAGES"
    lc.mkdir(parents=True)
    (lc / "messages.po").write_text(PO.format(msgid="Tenants", msgstr="参加団体"), "utf-8")
    (lc / "billing.po").write_text(PO.format(msgid="Cost items", msgstr="費目"), "utf-8")
    monkeypatch.setattr(i18n, "SOURCE_DIR", source)

    compiled = i18n.compile_catalogues(tmp_path / "out")

    catalogue = gettext.translation("messages", localedir=str(compiled), languages=["ja"])
    assert catalogue.gettext("Tenants") == "参加団体"
    assert catalogue.gettext("Cost items") == "費目"
