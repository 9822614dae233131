"""The catalogue's search caches answer as the search rules alone (issue 22, the catalogue at national size).

``catalogue.search`` looks the words of ``q`` up in the search index (``dataset_search_gram``,
written with a dataset's text by the one write path) to pick the candidates that its LIKE then
checks, and reads CKAN's ``res_format`` filter from the datasets' ``formats`` (written with their
distributions by the same path) instead of the distributions. Hypothesis writes datasets through
the register's own operations (registered, some changed again), with texts and queries drawn from
characters that test every edge of the rules (ASCII letters in both cases, Japanese, the LIKE
wildcards and escape, white space of several kinds, letters whose lower case is longer or depends
on their place; formats with the separator, the escape, both cases, empty), and asks the same
searches with and without the caches: the datasets found, their order and their count must be the same.
"""

from __future__ import annotations

import sqlalchemy as sa

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.datasets.conftest import draft

# a small alphabet, so that generated words are often in generated texts
CHARS = "aAbB避難所一覧%_\\İΣσßK\u3000 \t"
texts = st.text(alphabet=CHARS, min_size=1, max_size=12).filter(lambda t: t.strip())
words = st.text(alphabet=CHARS.replace(" ", "").replace("\t", "").replace("\u3000", ""), min_size=1, max_size=4)
plain = words.filter(lambda word: "\\" not in word)  # no escape: the Solr forms below stay as built
queries = st.one_of(st.lists(words, min_size=1, max_size=3).map(" ".join),
                    st.builds(lambda w, sep: sep.join(w), st.lists(words, min_size=1, max_size=3),
                              st.sampled_from(["\u3000", "\t", "  "])),
                    st.sampled_from(["*:*", "", "避難", "ab", "AB", "%", "_", "\\"]),
                    # Solr's forms (catalogue/solr.py): an OR reads the candidates of each branch
                    st.builds(lambda a, b: f"{a} OR {b}", plain, plain),
                    st.builds(lambda a, b, c: f"({a} OR {b}) {c}", plain, plain, plain),
                    st.builds(lambda a, b: f'"{a} {b}" -{b}', plain, plain))
# formats: CKAN's res_format is the format as written (case kept); "\\" is the formats text's escape ("\n", its
# separator, is refused in a format by the register; the encoding's own property test below has it)
formats = st.one_of(st.sampled_from(["CSV", "csv", "GeoJSON", "", "a", "b", "a\\nb", "a\\", "\\n", "\\\\", "n", "%", "_"]),
                    st.text(alphabet="ab\\%_Cn", max_size=4))
datasets = st.lists(st.tuples(texts, texts, st.lists(formats, max_size=3)), min_size=1, max_size=4)


def _fq(field: str, value: str) -> str:
    from catalogue import solr

    return f"{field}:{solr.quoted(value)}"  # one term, however the value is written


def _searches(db, actor, q: str, use_index: bool, asked_formats=("CSV",)):
    from catalogue import catalogue

    found = []
    filters = ["", "organization:432024", *(_fq("res_format", value) for value in asked_formats if value.strip('"'))]
    for fq in filters:
        page = catalogue.search(db, actor, q=q, fq=fq, sort="name asc", rows=1000, use_index=use_index)
        found.append((fq, page.total, [entry.dataset.name for entry in page.entries]))
    ranked = catalogue.search(db, actor, q=q, rows=5, start=1, use_index=use_index)  # the default order, a page
    found.append(("page", ranked.total, [entry.dataset.name for entry in ranked.entries]))
    return found


def _distributions(values):
    from catalogue.operations import DistributionDraft

    return tuple(DistributionDraft(url=f"https://data.example.jp/{index}", format=value) for index, value in enumerate(values))


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=datasets, changed=st.none() | st.tuples(texts, st.lists(formats, max_size=2)),
       asked=st.lists(queries, min_size=1, max_size=4), asked_formats=st.lists(formats, min_size=1, max_size=3))
def test_a_search_with_the_caches_finds_what_the_rules_alone_find(db, operator, providers, batch, changed, asked,
                                                                    asked_formats):
    from catalogue import operations
    from catalogue.models import Dataset, DatasetStatus

    made = []
    for index, (title, description, values) in enumerate(batch):
        dataset = operations.register(db, operator, draft(
            provider_code=providers[index % len(providers)], title_ja=title.replace("\t", " "), description=description,
            keywords="", standard_kind="", distributions=_distributions(values)))
        made.append(dataset)
    if changed is not None:  # a text and the distributions changed: the index and the formats follow them
        operations.update(db, operator, made[0].uid, draft(provider_code=made[0].provider_code, title_ja="題",
                                                            description=changed[0], keywords="", standard_kind="",
                                                            distributions=_distributions(changed[1])))
    db.execute(sa.update(Dataset).where(Dataset.id.in_([d.id for d in made[1:]]))
               .values(status=DatasetStatus.published))  # the first stays a draft: never found
    db.commit()
    for q in [*asked, ""]:
        for actor in (None, operator):
            assert _searches(db, actor, q, True, asked_formats) == _searches(db, actor, q, False, asked_formats), q


def test_the_index_holds_the_pairs_of_the_current_text_only(db, operator, providers):
    """A changed text replaces its pairs (an old word is no longer a candidate), and the index built
    again in bulk (the migration, the benchmarks' bulk loads) is the one the write path keeps."""
    from catalogue import operations, search_index
    from catalogue.models import DatasetSearchGram

    dataset = operations.register(db, operator, draft(title_ja="避難所一覧", description="指定緊急避難場所"))
    operations.update(db, operator, dataset.uid, draft(title_ja="AED設置箇所", description="救急"))
    db.commit()
    kept = set(db.execute(sa.select(DatasetSearchGram.gram, DatasetSearchGram.dataset_id)))
    assert ("避難", dataset.id) not in kept and ("ae", dataset.id) in kept
    assert search_index.probes(["避難"]) == ["避難"]
    search_index.index_search_texts(db)
    db.commit()
    assert set(db.execute(sa.select(DatasetSearchGram.gram, DatasetSearchGram.dataset_id))) == kept


FORMAT_CHARS = st.one_of(st.text(alphabet="abn\n\\%_C", max_size=4),
                         st.sampled_from(["\\n", "\n", "a\\n", "a\n", "\\", "\\\\", "\\\\n", ""]))


def _near(value: str):
    """Formats written almost as ``value``: the separator for an escaped one and back, an escape more or less."""
    return st.sampled_from([value, value.replace("\\n", "\n"), value.replace("\n", "\\n"), value + "\\",
                            "\\" + value, value[:-1], value.replace("\\\\", "\\")])


@settings(deadline=None)
@given(stored=st.lists(FORMAT_CHARS, max_size=4), data=st.data())
def test_a_format_is_in_the_formats_text_exactly_when_it_is_one_of_the_formats(stored, data):
    """The encoding of ``dataset.formats`` (any text, the separator and the escape too, as data stored before
    the register refused line breaks in a format may hold): the probe of a format is a part of the text
    exactly when the format is one of those written."""
    from catalogue.search_index import format_probe, formats_text

    asked = data.draw(st.one_of(FORMAT_CHARS, *([st.sampled_from(stored).flatmap(_near)] if stored else [])))
    assert (format_probe(asked) in formats_text(stored)) == (asked in stored)


def test_the_formats_follow_the_distributions_and_the_bulk_build_writes_the_same(db, operator, providers):
    """A dataset's formats are its distributions' (changed with them, case kept), and built again in bulk
    from the stored distributions (migration 0041, the benchmarks' bulk loads) they are the same."""
    from catalogue import catalogue, operations, search_index
    from catalogue.models import Dataset, DatasetStatus

    csv = operations.register(db, operator, draft(title_ja="避難所一覧", distributions=_distributions(["CSV", "GeoJSON"])))
    none = operations.register(db, operator, draft(title_ja="AED", distributions=()))
    operations.update(db, operator, csv.uid, draft(title_ja="避難所一覧", distributions=_distributions(["csv", "XLSX"])))
    db.execute(sa.update(Dataset).values(status=DatasetStatus.published))
    db.commit()
    assert [e.dataset.name for e in catalogue.search(db, None, fq="res_format:csv").entries] == [csv.name]
    assert catalogue.search(db, None, fq="res_format:CSV").total == 0  # the old format, and not another case of it
    kept = dict(db.execute(sa.select(Dataset.id, Dataset.formats)).all())
    assert kept[none.id] == ""
    db.execute(sa.update(Dataset).values(formats=""))
    assert search_index.index_formats(db) == 2
    assert dict(db.execute(sa.select(Dataset.id, Dataset.formats)).all()) == kept
