"""Journey of issue 22 in a real Chromium through the real Keycloak login:

熊本市's admin registers a standard dataset (AED設置箇所一覧), uploads a CSV (Shift_JIS) that fails
the schema, reads the problems by row and column, uploads the corrected file, and submits it; the
operator publishes it; it then appears through ckanapi (CKAN's Action API) and in the DCAT feed.
"""

from __future__ import annotations

import datetime as dt
import re

import requests
from playwright.sync_api import expect

BAD = ("名称,名称_カナ,住所,緯度,経度\n"
       "熊本市役所,クマモトシヤクショ,熊本市中央区手取本町1-1,132.803,130.707\n")
GOOD = ("名称,名称_カナ,住所,緯度,経度,設置位置\n"
        "熊本市役所,クマモトシヤクショ,熊本市中央区手取本町1-1,32.803,130.707,1階正面玄関\n")
TITLE = "AED設置箇所一覧（本庁舎）"


def served(live_server) -> requests.Session:
    """A client of the live server from this process: its address, and the name the app answers to."""
    session = requests.Session()
    session.headers["Host"] = live_server.host
    return session


def test_kumamoto_registers_a_standard_dataset_fixes_its_file_and_the_operator_publishes_it(
        demo, people, page, new_page, login_as, live_server, db, tmp_path):
    from ckanapi import RemoteCKAN
    from rdflib import Graph

    bad, good = tmp_path / "aed-bad.csv", tmp_path / "aed.csv"
    bad.write_bytes(BAD.encode("cp932"))
    good.write_bytes(GOOD.encode("cp932"))
    db.commit()  # hold no lock while the live server answers

    login_as(page, people["kumamoto"].username)
    page.goto(live_server("/admin/datasets/"))
    page.get_by_role("link", name="データセットの登録").click()
    page.get_by_role("textbox", name=re.compile(r"^タイトル\s*（必須）")).fill(TITLE)
    page.get_by_label("説明").fill("本庁舎のAEDの設置場所です。")
    page.get_by_label("分野").select_option(label="医療・福祉")
    page.get_by_label("標準データセットの種類").select_option(label="AED設置箇所一覧")
    page.get_by_label("ライセンス").select_option(label="クリエイティブ・コモンズ 表示 4.0 国際")
    page.get_by_label("更新頻度").select_option(label="毎月")
    # updated today: a monthly dataset with no last update would be 更新期限切れ everywhere, whatever its file
    page.get_by_label("最終更新日").fill(dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date().isoformat())
    page.get_by_label("担当課").fill("消防局救急課")
    page.get_by_label("連絡先メールアドレス").fill("aed@example.jp")
    page.get_by_label("ダウンロード先または API のアドレス").fill("https://data.example.jp/kumamoto/aed.csv")
    page.get_by_label("形式").fill("CSV")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
    expect(page.get_by_text("データセットを下書きとして登録しました。")).to_be_visible()

    page.get_by_label("CSV または Excel ファイル").set_input_files(str(bad))
    page.get_by_role("button", name="確認する").click()
    problems = page.get_by_role("table", name="行・列ごとの問題")
    expect(problems).to_be_visible()
    expect(problems.locator("tbody tr").filter(has_text="設置位置")).to_contain_text("必須の列がありません")
    expect(problems.locator("tbody tr").filter(has_text="緯度")).to_contain_text("132.803")
    expect(page.get_by_text("不適合（2 件）").first).to_be_visible()

    page.get_by_label("CSV または Excel ファイル").set_input_files(str(good))
    # the fixed file replaces the first one as the distribution's file (issue 54: another file is that file's only)
    page.get_by_label("このファイルで配布ファイルを差し替える（新しい版のファイルを公開する）").check()
    page.get_by_role("button", name="確認する").click()
    expect(page.get_by_text("準拠しています。")).to_be_visible()
    expect(page.get_by_role("table", name="行・列ごとの問題")).to_have_count(0)
    page.get_by_role("button", name="審査を申請する").click()
    expect(page.get_by_text("審査を申請しました。")).to_be_visible()
    expect(page.get_by_text(re.compile("状態: *審査待ち"))).to_be_visible()
    detail = page.url

    operator = new_page()
    login_as(operator, people["operator"].username)
    operator.goto(detail)
    expect(operator.get_by_role("heading", name="審査の確認項目")).to_be_visible()
    expect(operator.get_by_text("標準データセットの項目定義に準拠している: 満たしている")).to_be_visible()
    operator.get_by_role("button", name="公開する").click()  # the confirmation step says what follows
    expect(operator.get_by_role("heading", name="このデータセットを公開しますか？")).to_be_visible()
    operator.get_by_role("button", name="公開する").click()
    expect(operator.get_by_text(re.compile("状態: *公開中"))).to_be_visible()

    address = f"http://127.0.0.1:{live_server.port}"
    ckan = RemoteCKAN(address, session=served(live_server), user_agent="renkei-journey/1 (ckanapi)")
    found = ckan.action.package_search(q="本庁舎", fq="organization:431001")
    assert [r["title"] for r in found["results"]] == [TITLE]
    shown = ckan.action.package_show(id=found["results"][0]["id"])
    assert {e["key"]: e["value"] for e in shown["extras"]}["conformance"] == "準拠"

    feed = served(live_server).get(f"{address}/catalog.ttl?rows=200", timeout=30)
    assert feed.status_code == 200
    graph = Graph().parse(data=feed.text, format="turtle")
    assert TITLE in {str(o) for o in graph.objects()}
