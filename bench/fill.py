"""Bulk data for the benchmarks that more than one of them builds (bench_pages and bench_catalogue
both fill the dataset register at national size): written once here, imported by both."""

from __future__ import annotations

import datetime as dt
import random
import uuid

TITLES = ("指定緊急避難場所一覧", "AED設置箇所一覧", "公共施設一覧", "公衆無線LANアクセスポイント一覧", "公衆トイレ一覧",
          "子育て施設一覧", "観光施設一覧", "医療機関一覧", "消防水利施設一覧", "文化財一覧", "浸水想定区域（洪水）",
          "浸水想定区域（津波）", "土砂災害警戒区域", "ため池情報", "河川水位", "アートポリス一覧", "駐輪場一覧",
          "道路照明灯一覧", "交通事故統計情報", "ライブカメラ一覧", "バス情報", "橋梁一覧", "ダム一覧", "樋門・樋管一覧",
          "堰一覧", "排水機場一覧", "港湾一覧", "公営住宅一覧", "下水処理場一覧", "地下水位")
CATEGORIES = ("disaster", "tourism", "health_welfare", "childcare", "transport", "infrastructure", "statistics", "other")
FORMATS = (("CSV", "text/csv"), ("GeoJSON", "application/geo+json"), ("API", "application/json"))


def fill_datasets(session, codes: list[str], per_provider: int, seed: int = 22) -> int:
    """``per_provider`` datasets for each provider code, with a distribution each, in bulk; how many."""
    import sqlalchemy as sa

    from catalogue import lists, search_index, standards
    from catalogue.models import Dataset, Distribution, search_text_of

    lists.ensure_lists(session)
    kinds = list(standards.kinds())
    rng = random.Random(seed)
    now = dt.datetime.now(dt.timezone.utc)
    today = dt.date.today()
    rows, dists, total = [], [], 0
    next_id = (session.scalar(sa.select(sa.func.max(Dataset.id))) or 0) + 1
    for code in codes:
        for i in range(per_provider):
            title = TITLES[i % len(TITLES)]
            kind = kinds[i] if i < len(kinds) and rng.random() < 0.7 else None
            fmt, media = FORMATS[rng.randrange(len(FORMATS))]
            rows.append({
                "id": next_id, "uid": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "name": f"{code}-{i + 1:04d}",
                "provider_code": code, "title_ja": title, "title_en": "", "description": f"{title}のデータです。",
                "category_code": CATEGORIES[i % len(CATEGORIES)], "keywords": "、".join(title.replace("一覧", "").split("・")),
                "licence_code": "CC-BY-4.0" if rng.random() < 0.8 else "PDL-1.0",
                "access": "open" if rng.random() < 0.9 else "members",
                "frequency": ("yearly", "monthly", "irregular", "daily")[rng.randrange(4)],
                "last_updated_on": today - dt.timedelta(days=rng.randrange(0, 700)), "department": "情報政策課",
                "contact_email": f"opendata-{code}@example.jp", "contact_phone": "", "personal_info": "none",
                "standard_kind": kind, "responsibility_remark": "",
                "status": "published" if rng.random() < 0.95 else "draft", "review_reason": "", "version": 1,
                "conformant": (rng.random() < 0.8) if kind else None, "problem_count": 0,
                "created_at": now, "modified_at": now - dt.timedelta(minutes=rng.randrange(0, 500_000)),
                "published_at": now})
            rows[-1]["search_text"] = search_text_of(title, "", rows[-1]["keywords"], rows[-1]["description"])
            dists.append({"dataset_id": next_id, "title": "", "url": f"https://data.example.jp/{code}/{i + 1}.csv",
                          "is_api": fmt == "API", "format": fmt, "media_type": media, "byte_size": rng.randrange(1, 10**7)})
            next_id += 1
            total += 1
        if len(rows) >= 5000:
            session.execute(Dataset.__table__.insert(), rows)
            session.execute(Distribution.__table__.insert(), dists)
            rows, dists = [], []
    if rows:
        session.execute(Dataset.__table__.insert(), rows)
        session.execute(Distribution.__table__.insert(), dists)
    search_index.index_search_texts(session)  # the search index and the formats, as the one write path keeps them
    search_index.index_formats(session)
    session.commit()
    return total
