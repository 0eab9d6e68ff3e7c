"""The news spider against the fixture site: RSS → GBK/GB2312 article pages → ingest service → store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .conftest import CrawlEnv, FixtureSite

CST = timezone(timedelta(hours=8))


def test_news_feed_crawl_stores_articles_with_exact_fields(crawl_env: CrawlEnv, fixture_site: FixtureSite) -> None:
    mark = fixture_site.mark()
    report = crawl_env.crawl("fixture-news")
    assert report.ok, report
    assert report.items == 2 and report.new_items == 2 and report.errors == 0
    docs = {d.url.removeprefix(fixture_site.base_url): d for d in crawl_env.documents()}
    assert sorted(docs) == ["/news/articles/1.html", "/news/articles/2.html"]

    first = docs["/news/articles/1.html"]
    assert first.source == "fixture-news" and first.source_type == "news"
    assert first.title == "某品牌充电宝充电时起火 多地消费者投诉"
    assert first.text == (
        "近日，多地消费者反映，某品牌20000毫安充电宝在充电过程中外壳发烫、冒烟，甚至起火。\n"
        "一位杭州消费者表示，充电宝放在床头充电约两小时后突然起火，烧毁了床单。\n"
        "市场监管部门提醒，应选购有3C认证标志的产品，避免在无人看管时长时间充电。"
    )
    assert first.published_at == datetime(2024, 5, 12, 9, 30, tzinfo=CST)
    assert first.meta["author"] == "记者 张三"

    second = docs["/news/articles/2.html"]  # GB2312 page without site selectors: trafilatura
    assert second.title == "儿童电动牙刷刷头脱落致幼儿误吞"
    assert second.text.startswith("5月10日，一名三岁幼儿在使用儿童电动牙刷时刷头突然脱落")
    assert second.text.endswith("发现松动应立即停止使用。")
    assert second.published_at == datetime(2024, 5, 13, 14, 0, tzinfo=CST)
    assert second.meta["author"] == "李四"

    fetched = fixture_site.fetched_since(mark)
    assert "/robots.txt" in fetched
    assert not any(p.startswith("/news/private/") for p in fetched)  # robots.txt forbids it
    assert report.robots_forbidden == 1


def test_news_list_page_crawl(crawl_env: CrawlEnv, fixture_site: FixtureSite) -> None:
    report = crawl_env.crawl("fixture-news-list")
    assert report.ok, report
    titles = sorted(d.title for d in crawl_env.documents())
    assert titles == ["儿童电动牙刷刷头脱落致幼儿误吞", "某品牌充电宝充电时起火 多地消费者投诉"]
