"""The catalogue's search index answers as the search rule alone (issue 22, the catalogue at national size).

``catalogue.search`` looks the words of ``q`` up in the search index (``dataset_search_gram``,
written with a dataset's text by the one write path) to pick the candidates that its LIKE then
checks. Hypothesis writes datasets through the register's own operations (registered, some changed
again), with texts and queries drawn from characters that test every edge of the rule (ASCII
letters in both cases, Japanese, the LIKE wildcards and escape, white space of several kinds,
letters whose lower case is longer or depends on their place), and asks the same searches with
and without the index: the datasets found, their order and their count must be the same.
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
queries = st.one_of(st.lists(words, min_size=1, max_size=3).map(" ".join),
                    st.builds(lambda w, sep: sep.join(w), st.lists(words, min_size=1, max_size=3),
                              st.sampled_from(["\u3000", "\t", "  "])),
                    st.sampled_from(["*:*", "", "避難", "ab", "AB", "%", "_", "\\"]))
datasets = st.lists(st.tuples(texts, texts, st.sampled_from(["CSV", "GeoJSON"])), min_size=1, max_size=4)


def _searches(db, actor, q: str, use_index: bool):
    from tenancy.datasets import catalogue

    found = []
    for fq in ("", "res_format:CSV", "organization:432024"):
        page = catalogue.search(db, actor, q=q, fq=fq, sort="name asc", rows=1000, use_index=use_index)
        found.append((fq, page.total, [entry.dataset.name for entry in page.entries]))
    ranked = catalogue.search(db, actor, q=q, rows=5, start=1, use_index=use_index)  # the default order, a page
    found.append(("page", ranked.total, [entry.dataset.name for entry in ranked.entries]))
    return found


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=datasets, changed=st.none() | texts, asked=st.lists(queries, min_size=1, max_size=4))
def test_a_search_with_the_index_finds_what_the_rule_alone_finds(db, operator, providers, batch, changed, asked):
    from tenancy.datasets import operations
    from tenancy.datasets.models import Dataset, DatasetStatus
    from tenancy.datasets.operations import DistributionDraft

    made = []
    for index, (title, description, fmt) in enumerate(batch):
        dataset = operations.register(db, operator, draft(
            provider_code=providers[index % len(providers)], title_ja=title.replace("\t", " "), description=description,
            keywords="", standard_kind="", distributions=(DistributionDraft(url="https://data.example.jp/a", format=fmt),)))
        made.append(dataset)
    if changed is not None:  # a text changed: the index follows it
        operations.update(db, operator, made[0].uid, draft(provider_code=made[0].provider_code, title_ja="題",
                                                            description=changed, keywords="", standard_kind=""))
    db.execute(sa.update(Dataset).where(Dataset.id.in_([d.id for d in made[1:]]))
               .values(status=DatasetStatus.published))  # the first stays a draft: never found
    db.commit()
    for q in asked:
        for actor in (None, operator):
            assert _searches(db, actor, q, use_index=True) == _searches(db, actor, q, use_index=False), q


def test_the_index_holds_the_pairs_of_the_current_text_only(db, operator, providers):
    """A changed text replaces its pairs (an old word is no longer a candidate), and the index built
    again in bulk (the migration, the benchmarks' bulk loads) is the one the write path keeps."""
    from tenancy.datasets import catalogue, operations
    from tenancy.datasets.models import DatasetSearchGram

    dataset = operations.register(db, operator, draft(title_ja="避難所一覧", description="指定緊急避難場所"))
    operations.update(db, operator, dataset.uid, draft(title_ja="AED設置箇所", description="救急"))
    db.commit()
    kept = set(db.execute(sa.select(DatasetSearchGram.gram, DatasetSearchGram.dataset_id)))
    assert ("避難", dataset.id) not in kept and ("ae", dataset.id) in kept
    assert catalogue._probes(["避難"]) == ["避難"]
    operations.index_search_texts(db)
    db.commit()
    assert set(db.execute(sa.select(DatasetSearchGram.gram, DatasetSearchGram.dataset_id))) == kept
