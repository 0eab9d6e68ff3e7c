"""The news extractor on real Chinese pages with reference title, date and body (tests/fixtures/extraction/,
see its PROVENANCE.md), against trafilatura alone; plus the decoding and headline rules the set pinned down."""

from __future__ import annotations

import pytest

from bench.extraction import (
    Extracted,
    Page,
    Scores,
    char_f1,
    date_matches,
    load_pages,
    ours,
    run,
    score,
    trafilatura_alone,
    unwrap_record,
)
from riskmine.crawler.extract import decode_html, extract_article


@pytest.fixture(scope="module")
def results() -> dict[str, list[tuple[Page, Extracted]]]:
    pages = load_pages()
    assert len(pages) >= 50
    return {"ours": run(pages, ours), "trafilatura": run(pages, trafilatura_alone)}


def test_whole_set_meets_the_targets_and_beats_trafilatura(results: dict[str, list[tuple[Page, Extracted]]]) -> None:
    mine, theirs = score(results["ours"]), score(results["trafilatura"])
    assert mine.title_exact >= 0.90, mine
    assert mine.body_f1 >= 0.90, mine
    assert mine.title_exact > theirs.title_exact and mine.body_f1 > theirs.body_f1, (mine, theirs)
    assert mine.date_exact >= theirs.date_exact, (mine, theirs)


@pytest.mark.parametrize("split", ["tune", "holdout"])
def test_each_half_beats_trafilatura(results: dict[str, list[tuple[Page, Extracted]]], split: str) -> None:
    mine, theirs = score(results["ours"], split), score(results["trafilatura"], split)
    assert mine.pages >= 25
    assert mine.body_f1 >= 0.90 and mine.body_f1 > theirs.body_f1, (mine, theirs)
    assert mine.title_exact >= 0.80 and mine.title_exact > theirs.title_exact, (mine, theirs)


def test_scoring_helpers() -> None:
    assert char_f1("充电宝起火", "充电宝 起火") == 1.0
    assert char_f1("充电宝", "") == 0.0
    assert 0.5 < char_f1("充电宝起火了", "充电宝起火") < 1.0
    assert date_matches("2005-3-11 12:12", "2005-03-11")
    assert date_matches("2003-5", "2003-05-20")
    assert not date_matches("2005-3-11", "2005-03-12")
    assert Scores(1.0, 1.0, 1.0, 1).pages == 1


def test_corpus_record_is_unwrapped() -> None:
    page, charset = unwrap_record('<text id="http://h/a" title="标题" encoding="gb2312"><p>正文</p></text>'.encode())
    assert charset == "gb2312"
    assert page.startswith(b"<html><head><title>") and b"<p>" in page
    assert unwrap_record(b"<html></html>") == (b"<html></html>", None)


def test_valid_utf8_beats_a_stale_gbk_meta() -> None:
    page = '<html><head><meta charset="gbk"><title>电动车起火</title></head><body>正文</body></html>'.encode()
    assert "电动车起火" in decode_html(page)
    assert "电动车起火" in decode_html(page, "GBK")  # a wrong header too
    assert decode_html("<p>充电宝</p>".encode("gbk"), "GBK") == "<p>充电宝</p>"  # GBK bytes are not UTF-8


_ARTICLE = """<html><head><title>{title}</title></head><body>
<div class="nav"><a href="/">首页</a> &gt; <a href="/n">新闻中心</a></div>
<h1>{headline}</h1><div class="info">2024年03月05日 10:20 来源：新华网</div>
<div class="content">{paras}</div>
<div class="footer">版权所有 新华网</div></body></html>"""
_PARAS = "".join(
    f"<p>第{i}段：市场监管部门通报电动自行车充电器抽检结果，部分产品存在过热起火隐患，已责令召回。</p>"
    for i in range(8)
)


@pytest.mark.parametrize(
    ("title", "headline"),
    [
        ("充电器抽检不合格 三款产品被召回-新华网", "充电器抽检不合格 三款产品被召回"),
        ("充电器抽检不合格 三款产品被召回_新闻中心_新华网", "充电器抽检不合格 三款产品被召回"),
        ("新华网 | 充电器抽检不合格 三款产品被召回", "充电器抽检不合格 三款产品被召回"),
        ("召回通告——充电器抽检不合格", "召回通告——充电器抽检不合格"),
    ],
)
def test_site_suffix_leaves_the_title(title: str, headline: str) -> None:
    article = extract_article(_ARTICLE.format(title=title, headline=headline, paras=_PARAS), "http://h/a.html")
    assert article.title == headline
    assert article.text.startswith("第0段") and "版权所有" not in article.text
    assert article.published_at is not None and article.published_at.date().isoformat() == "2024-03-05"


def test_headline_found_near_the_body_when_the_title_names_only_the_site() -> None:
    page = _ARTICLE.format(title="新华网_新闻中心", headline="充电器抽检不合格 三款产品被召回", paras=_PARAS)
    assert extract_article(page, "http://h/a.html").title == "充电器抽检不合格 三款产品被召回"
