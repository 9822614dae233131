"""What each IRI renkei mints for its catalogue answers (:mod:`catalogue.linked_data`): a
:class:`Description` that admin/catalogue/pages.py shows as a page for people (its rows) or writes as RDF
(its graph, built by the feed's own builder, :mod:`catalogue.dcat`).

Published data only, as the reader may see it in the catalogue (:func:`catalogue.search`): a dataset
that is not published, or not for this reader, has no description (None: the route answers 404), and
so has a provider or a place with no dataset the reader may see.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.orm import Session

from core.actor import Actor
from catalogue import catalogue, dcat, linked_data as iris, lists, operations, solr, standards
from catalogue.conformance import conformance_state
from catalogue.models import Access, Frequency

LISTED = 200  # the datasets a provider's, a theme's or a place's page lists


@dataclasses.dataclass(frozen=True)
class Row:
    label_ja: str
    label_en: str
    text: str
    href: str = ""


@dataclasses.dataclass(frozen=True)
class Description:
    iri: str
    title_ja: str
    title_en: str
    rows: list[Row]
    graph: Any  # an rdflib Graph
    listed: list[Row] = dataclasses.field(default_factory=list)  # the datasets it lists, each a link
    listed_more: int = 0  # how many more there are
    body: str = ""  # a text shown as written (a version of a dataset's terms of use)


def _entry(session: Session, actor: Actor | None, ident: str) -> catalogue.Entry | None:
    dataset = operations.find_dataset(session, ident)
    if dataset is None:
        return None
    page = catalogue.search(session, actor, fq=f"name:{solr.quoted(dataset.name)}", rows=1)
    return page.entries[0] if page.entries else None


def _listed(session: Session, actor: Actor | None, base: str, fq: str) -> tuple[list[Row], int]:
    page = catalogue.search(session, actor, fq=fq, sort="name asc", rows=LISTED)
    rows = [Row("データセット", "Dataset", e.dataset.title_ja, iris.landing_page(base, e.dataset.name)) for e in page.entries]
    return rows, max(0, page.total - len(rows))


def dataset(session: Session, actor: Actor | None, base: str, ident: str) -> Description | None:
    """A published dataset (by uid or name): its record, as the feed writes it."""
    entry = _entry(session, actor, ident)
    if entry is None:
        return None
    d = entry.dataset
    info = catalogue.catalogue_info(session, base)
    graph = dcat.graph(info, catalogue.Page([entry], 1, 0, 1), page_url=None)
    rows = [Row("説明", "Description", d.description),
            Row("提供者", "Publisher", entry.provider.name_ja, iris.provider_iri(base, entry.provider.code)),
            Row("分野", "Theme", entry.category.label_ja if entry.category else d.category_code,
                iris.theme_iri(base, d.category_code) if entry.category else ""),
            Row("ライセンス", "Licence", entry.licence.title_ja if entry.licence else d.licence_code,
                (entry.licence.url if entry.licence and entry.licence.url else base + lists.licence_page_path(d.licence_code))),
            Row("公開範囲", "Access", Access(d.access).ja),
            Row("更新頻度", "Update frequency", Frequency(d.frequency).ja),
            Row("最終更新日", "Last updated", d.last_updated_on.isoformat() if d.last_updated_on else ""),
            Row("キーワード", "Keywords", "、".join(d.keyword_list)),
            Row("担当課", "Department", d.department),
            Row("メールアドレス", "E-mail", d.contact_email, f"mailto:{d.contact_email}" if d.contact_email else ""),
            Row("電話番号", "Telephone", d.contact_phone, iris.telephone(d.contact_phone) or "")]
    kind = standards.kind_of(d.standard_kind)
    if kind is not None:
        rows.append(Row("標準データセット", "Standard dataset", f"{kind.title_ja}（{conformance_state(d).label[0]}）",
                        iris.standard_iri(base, kind.code)))
    if entry.terms is not None:
        rows.append(Row("利用規約", "Terms of use", f"{entry.terms.title}（第{entry.terms.number}版）",
                        catalogue.terms_url(base, d, entry.terms.number)))
    for index, dist in enumerate(entry.distributions):
        rows.append(Row("配布", "Distribution", dist.title or dist.format or dist.url, iris.distribution_iri(base, d.uid, index)))
    rows.append(Row("識別子", "Identifier", d.uid, iris.dataset_iri(base, d.uid)))
    return Description(iris.dataset_iri(base, d.uid), d.title_ja, d.title_en or d.title_ja,
                       [row for row in rows if row.text], graph)


def distribution(session: Session, actor: Actor | None, base: str, ident: str) -> Description | None:
    """A distribution (``<uid>-<n>``) of a published dataset: the dataset's record, which holds it."""
    uid, _sep, number = ident.rpartition("-")
    entry = _entry(session, actor, uid) if number.isascii() and number.isdigit() and len(number) < 6 else None
    index = int(number) - 1 if entry is not None else -1
    if entry is None or not 0 <= index < len(entry.distributions):
        return None
    record = dataset(session, actor, base, uid)
    dist = entry.distributions[index]
    rows = [Row("データセット", "Dataset", entry.dataset.title_ja, iris.landing_page(base, entry.dataset.name)),
            Row("アドレス", "Address", dist.url, dist.url), Row("形式", "Format", dist.format),
            Row("メディアタイプ", "Media type", dist.media_type),
            Row("サイズ（バイト）", "Size (bytes)", f"{dist.byte_size:,}" if dist.byte_size is not None else "")]
    verdict = entry.verdict()
    if verdict is not None and verdict.index == index:  # the file renkei checked as this distribution
        rows[-1] = Row("サイズ（バイト）", "Size (bytes)", f"{verdict.byte_size:,}")
        rows += [Row("SHA-256", "SHA-256", verdict.sha256), Row("データ行数", "Data rows", f"{verdict.row_count:,}")]
        if verdict.version is not None:
            rows.append(Row("標準の版", "Standard version", verdict.version.label_ja, f"{base}{verdict.schema_path}"))
    title = dist.title or f"{entry.dataset.title_ja}（{dist.format or index + 1}）"
    return Description(iris.distribution_iri(base, entry.dataset.uid, index), title, title,
                       [row for row in rows if row.text], record.graph)


def provider(session: Session, actor: Actor | None, base: str, code: str) -> Description | None:
    """A provider with a dataset the reader may see: its name, its place, its datasets."""
    found = catalogue.providers(session, [code]).get(code) if code.isascii() and code.isdigit() else None
    if found is None or not catalogue.count_for(session, actor, code):
        return None
    g, v = dcat.resource_graph(base)
    dcat.add_provider(g, v, base, found, set())
    rows = [Row("名称", "Name", found.name_ja), Row("コード", "Code", code)]
    place = iris.place_of(found)
    if place is not None:
        rows.append(Row("地域", "Place", found.name_ja, iris.place_iri(base, place)))
    listed, more = _listed(session, actor, base, f"organization:{code}")
    return Description(iris.provider_iri(base, code), found.name_ja, found.name_en, rows, g, listed, more)


def place(session: Session, actor: Actor | None, base: str, code: str) -> Description | None:
    """A local government's area, by its 全国地方公共団体コード, when it provides a dataset the reader may see."""
    found = catalogue.providers(session, [code]).get(code) if code.isascii() and code.isdigit() else None
    if found is None or iris.place_of(found) is None or not catalogue.count_for(session, actor, code):
        return None
    g, v = dcat.resource_graph(base)
    dcat.add_place(g, v, base, code, found.name_ja)
    rows = [Row("地方公共団体", "Local government", found.name_ja, iris.provider_iri(base, code)),
            Row("全国地方公共団体コード", "Local government code", code)]
    listed, more = _listed(session, actor, base, f"organization:{code}")
    return Description(iris.place_iri(base, code), found.name_ja, found.name_en, rows, g, listed, more)


def catalogue_publisher(session: Session, base: str) -> Description:
    """The catalogue's publisher (the home prefecture)."""
    info = catalogue.catalogue_info(session, base)
    g, v = dcat.resource_graph(base)
    node = v.URIRef(iris.catalogue_publisher_iri(base))
    g.add((node, v.RDF.type, v.FOAF.Agent))
    g.add((node, v.FOAF.name, v.Literal(info.publisher_ja, lang="ja")))
    rows = [Row("名称", "Name", info.publisher_ja), Row("カタログ", "Catalogue", info.title_ja, iris.catalogue_iri(base))]
    return Description(iris.catalogue_publisher_iri(base), info.publisher_ja or info.title_ja,
                       info.publisher_ja or info.title_en, rows, g)


def standard(base: str, code: str) -> Description | None:
    """A standard kind: its titles and its published definition (the Table Schema)."""
    kind = standards.kind_of(code)
    if kind is None:
        return None
    g, v = dcat.resource_graph(base)
    node = dcat.add_standard(g, v, base, kind, with_schema=True)
    rows = [Row("名称", "Title", kind.title_ja), Row("英語名", "English title", kind.title_en),
            Row("項目定義（Table Schema）", "Item definitions (Table Schema)", iris.schema_url(base, code), iris.schema_url(base, code)),
            Row("項目", "Fields", "、".join(kind.field_names)),
            Row("必須項目", "Required fields", "、".join(kind.required))]
    for version in kind.versions:  # each version's own schema, at its stable address
        g.add((node, v.DCTERMS.hasVersion, dcat.add_standard_version(g, v, base, kind, version)))
        rows.append(Row(f"版: {version.label_ja}", f"Version: {version.label_en}", iris.schema_url(base, code, version.key),
                        iris.schema_url(base, code, version.key)))
    return Description(iris.standard_iri(base, code), kind.title_ja, kind.title_en, [r for r in rows if r.text], g)


def standard_version(base: str, code: str, key: str) -> Description | None:
    """One version of a standard kind, described at the address of its Table Schema (the IRI the feed's
    ``dct:conformsTo`` names): the kind and the version, its source, its fields, the schema and checklist."""
    kind = standards.kind_of(code)
    version = kind.version(key) if kind is not None else None
    if version is None:
        return None
    g, v = dcat.resource_graph(base)
    node = dcat.add_standard_version(g, v, base, kind, version)
    g.add((node, v.RDFS.seeAlso, v.URIRef(version.source)))
    title_ja, title_en = kind.version_titles(version)
    schema = iris.schema_url(base, code, key)
    rows = [Row("標準データセット", "Standard kind", kind.title_ja, iris.standard_iri(base, code)),
            Row("版", "Version", version.label_ja), Row("出典", "Source", version.source, version.source),
            Row("項目定義（Table Schema）", "Item definitions (Table Schema)", f"{schema}?format=json", f"{schema}?format=json"),
            Row("チェックリスト（frictionless）", "Checklist (frictionless)", f"{base}{standards.checklist_path(code, key)}",
                f"{base}{standards.checklist_path(code, key)}"),
            Row("項目", "Fields", "、".join(version.field_names)),
            Row("必須項目", "Required fields", "、".join(version.required))]
    return Description(schema, title_ja, title_en, [r for r in rows if r.text], g)


def licence(session: Session, base: str, code: str) -> Description | None:
    """A licence of the catalogue (the IRI the feed gives one without an address of its own)."""
    found = next((lic for lic in lists.catalogue_licences(session) if lic.code == code), None)
    if found is None:
        return None
    g, v = dcat.resource_graph(base)
    node = v.URIRef(base + lists.licence_page_path(code))
    g.add((node, v.RDF.type, v.DCTERMS.LicenseDocument))
    g.add((node, v.RDFS.label, v.Literal(found.title_ja, lang="ja")))
    if found.title_en:
        g.add((node, v.RDFS.label, v.Literal(found.title_en, lang="en")))
    if found.url:
        g.add((node, v.RDFS.seeAlso, v.URIRef(found.url)))
    rows = [Row("名称", "Title", found.title_ja), Row("英語名", "English title", found.title_en),
            Row("本文", "Text", found.url, found.url)]
    if found.own_terms:
        rows.append(Row("利用規約", "Terms of use", "このライセンスのデータセットには、それぞれ独自の利用規約があります。"
                        "各データセットの利用規約をご覧ください。"))
    return Description(base + lists.licence_page_path(code), found.title_ja, found.title_en or found.title_ja,
                       [r for r in rows if r.text], g)


def themes(session: Session, base: str) -> Description:
    """The catalogue's categories as a concept scheme."""
    g, v = dcat.resource_graph(base)
    scheme = v.URIRef(iris.themes_iri(base))
    g.add((scheme, v.RDF.type, v.SKOS.ConceptScheme))
    g.add((scheme, v.DCTERMS.title, v.Literal("分野", lang="ja")))
    listed = []
    for category in lists.categories(session, include_inactive=True):
        concept = v.URIRef(iris.theme_iri(base, category.code))
        g.add((scheme, v.SKOS.hasTopConcept, concept))
        g.add((concept, v.RDF.type, v.SKOS.Concept))
        g.add((concept, v.SKOS.prefLabel, v.Literal(category.label_ja, lang="ja")))
        g.add((concept, v.SKOS.inScheme, scheme))
        listed.append(Row("分野", "Theme", category.label_ja, iris.theme_iri(base, category.code)))
    return Description(iris.themes_iri(base), "分野", "Themes", [], g, listed)


def theme(session: Session, actor: Actor | None, base: str, code: str) -> Description | None:
    """A category (a concept of the scheme) and its datasets."""
    found = next((c for c in lists.categories(session, include_inactive=True) if c.code == code), None)
    if found is None:
        return None
    g, v = dcat.resource_graph(base)
    concept, scheme = v.URIRef(iris.theme_iri(base, code)), v.URIRef(iris.themes_iri(base))
    g.add((concept, v.RDF.type, v.SKOS.Concept))
    g.add((concept, v.SKOS.prefLabel, v.Literal(found.label_ja, lang="ja")))
    if found.label_en:
        g.add((concept, v.SKOS.prefLabel, v.Literal(found.label_en, lang="en")))
    g.add((concept, v.SKOS.inScheme, scheme))
    listed, more = _listed(session, actor, base, f"groups:{code}")
    return Description(iris.theme_iri(base, code), found.label_ja, found.label_en or found.label_ja,
                       [Row("分類", "Scheme", "分野", iris.themes_iri(base))], g, listed, more)


def catalogue_page(session: Session, actor: Actor | None, base: str, page: catalogue.Page, page_url: str) -> Description:
    """The catalogue itself (a page of it): its record and the datasets of the page."""
    info = catalogue.catalogue_info(session, base)
    graph = dcat.graph(info, page, page_url=page_url)
    rows = [Row("説明", "Description", info.description_ja), Row("公開者", "Publisher", info.publisher_ja,
                                                               iris.catalogue_publisher_iri(base)),
            Row("データセット数", "Datasets", f"{page.total:,}"), Row("分野", "Themes", "分野", iris.themes_iri(base))]
    if page.rows and page.start + page.rows < page.total:
        rows.append(Row("次のページ", "Next page", f"{page.start + page.rows + 1:,} 件目から",
                        dcat.page_address(page_url, page.start + page.rows, page.rows)))
    listed = [Row("データセット", "Dataset", e.dataset.title_ja, iris.landing_page(base, e.dataset.name)) for e in page.entries]
    return Description(iris.catalogue_iri(base), info.title_ja, info.title_en, [r for r in rows if r.text], graph, listed,
                       max(0, page.total - page.start - len(page.entries)))


def terms(base: str, entry: catalogue.Entry, text: Any, iri: str) -> Description:
    """A version of a dataset's own terms of use (the rights statement the feed names), for a reader who may
    see the dataset (the route has found ``entry`` and the version ``text``)."""
    d = entry.dataset
    g, v = dcat.resource_graph(base)
    node = v.URIRef(iri)
    title = f"{text.title}（第{text.number}版）"
    g.add((node, v.RDF.type, v.DCTERMS.RightsStatement))
    g.add((node, v.DCTERMS.title, v.Literal(title, lang="ja")))
    g.add((node, v.OWL.versionInfo, v.Literal(str(text.number))))
    g.add((node, v.DCTERMS.description, v.Literal(text.body_md, lang="ja")))
    current = entry.terms is not None and text.number == entry.terms.number
    rows = [Row("データセット", "Dataset", d.title_ja, iris.landing_page(base, d.name)),
            Row("版", "Version", f"第{text.number}版{'（現行）' if current else '（改定前）'}"),
            Row("内容のハッシュ", "Content hash", text.content_hash)]
    return Description(iri, title, title, rows, g, body=text.body_md)
