"""Notices (HTML table + XLSX attachment, pagination), reviews (JSON pagination, keyword mode) and
complaints against the fixture site, with the stored fields checked exactly."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .conftest import CrawlEnv, FixtureSite

CST = timezone(timedelta(hours=8))


def test_notices_table_attachment_and_pagination(crawl_env: CrawlEnv, fixture_site: FixtureSite) -> None:
    report = crawl_env.crawl("fixture-notices")
    assert report.ok and report.new_items == 3, report
    docs = {d.url.removeprefix(fixture_site.base_url): d for d in crawl_env.documents()}
    assert sorted(docs) == ["/notices/detail/n1.html", "/notices/detail/n2.html", "/notices/detail/n3.html"]

    recall = docs["/notices/detail/n1.html"]
    assert recall.source_type == "recall"
    assert recall.title == "关于某公司召回部分电暖器的公告"
    assert recall.published_at == datetime(2024, 4, 18, tzinfo=CST)
    assert recall.product == "油汀电暖器" and recall.enterprise == "宁波某电器有限公司"
    assert recall.meta["authority"] == "国家市场监督管理总局缺陷产品管理中心"
    assert recall.meta["rows"] == [
        {
            "product": "油汀电暖器",
            "enterprise": "宁波某电器有限公司",
            "test_item": "温控器失效导致过热",
            "quantity": "3250台",
            "model": "NY-2201",
        }
    ]
    assert recall.text == (
        "宁波某电器有限公司决定自即日起召回部分电暖器。\n"
        "本次召回范围内的产品，因温控器存在缺陷，长时间使用可能导致外壳过热，存在火灾隐患。\n"
        "召回产品：油汀电暖器，型号：NY-2201，召回企业：宁波某电器有限公司，召回数量：3250台，缺陷：温控器失效导致过热"
    )

    spot = docs["/notices/detail/n2.html"]  # rows come from the XLSX attachment
    assert spot.source_type == "spot_check"
    assert spot.published_at == datetime(2024, 5, 20, tzinfo=CST)
    assert spot.meta["attachments"] == [fixture_site.url("/notices/files/n2.xlsx")]
    rows = spot.meta["rows"]
    assert [r["product"] for r in rows] == ["儿童滑板车", "移动电源", "电热水壶"]
    assert rows[1] == {
        "product": "移动电源",
        "enterprise": "深圳市某科技有限公司",
        "test_item": "过充电保护",
        "verdict": "不合格",
        "authority": "浙江省市场监督管理局",
        "result": "不符合",
        "limit": "GB 4943.1",
        "category": "电子电器",
        "supplier": "某数码店",
        "date": "2024-05-20",
        "production_date": "2024-02-11",
    }
    assert rows[2]["verdict"] == "合格"
    assert spot.text.splitlines()[0] == "近期，我局组织开展了2024年第一批产品质量监督抽查，抽查结果见附件。"
    assert (
        "【监督抽查】移动电源（电子电器）过充电保护 不合格，检测结果 不符合，标准 GB 4943.1，"
        "生产商 深圳市某科技有限公司，浙江省市场监督管理局 2024-05-20"
    ) in spot.text.splitlines()

    page_two = docs["/notices/detail/n3.html"]  # reached through the list's next page
    assert page_two.meta["authority"] == "江苏省市场监督管理局"
    assert page_two.meta["rows"] == []


def test_reviews_json_pagination(crawl_env: CrawlEnv) -> None:
    report = crawl_env.crawl("fixture-reviews")
    assert report.ok and report.new_items == 3, report
    docs = {d.source_id: d for d in crawl_env.documents()}
    assert sorted(docs) == ["1001:501", "1001:502", "1001:503"]
    first = docs["1001:501"]
    assert first.source_type == "review"
    assert first.text == "充电的时候特别烫，还有一股焦味，不敢再用了"
    assert first.rating == 1.0
    assert first.published_at == datetime(2024, 5, 2, 20, 15, tzinfo=CST)
    assert (first.product, first.shop, first.brand, first.price, first.region) == (
        "极速快充移动电源 20000mAh",
        "闪能数码旗舰店",
        "闪能",
        129.0,
        "广东省深圳市",
    )
    assert docs["1001:503"].text == "用了一周外壳鼓包了，质量堪忧"  # from page 2


def test_reviews_keyword_mode_counts_negative_and_total(crawl_env: CrawlEnv) -> None:
    report = crawl_env.crawl("fixture-keyword")
    assert report.ok, report
    docs = crawl_env.documents()
    reviews = [d for d in docs if d.source_type == "review"]
    assert sorted(d.source_id for d in reviews) == ["1001:501", "1001:502", "1001:503", "1002:601"]
    assert all(d.meta["keyword"] == "充电宝" for d in reviews)
    forms = {d.product: d for d in docs if d.source_type == "station_report"}
    assert sorted(forms) == ["极速快充移动电源 20000mAh", "迷你充电宝 10000mAh"]
    big = forms["极速快充移动电源 20000mAh"]
    assert big.meta["negative_reviews"] == 2 and big.meta["reviews"] == 3
    assert big.text == "商品名称：极速快充移动电源 20000mAh；关键词：充电宝；差评数：2，评论数：3"
    assert big.shop == "闪能数码旗舰店" and big.price == 129.0 and big.region == "广东省深圳市"
    assert big.meta["collection_period"]["start"] == "2024-05-02"
    small = forms["迷你充电宝 10000mAh"]
    assert (small.meta["negative_reviews"], small.meta["reviews"]) == (0, 1)


def test_complaints_list_and_detail(crawl_env: CrawlEnv, fixture_site: FixtureSite) -> None:
    report = crawl_env.crawl("fixture-complaints")
    assert report.ok and report.new_items == 3, report
    docs = {d.url.removeprefix(fixture_site.base_url): d for d in crawl_env.documents()}
    assert sorted(docs) == ["/complaints/detail/c1.html", "/complaints/detail/c2.html", "/complaints/detail/c3.html"]
    c1 = docs["/complaints/detail/c1.html"]
    assert c1.source_type == "complaint"
    assert c1.title == "电动车电池充电时冒烟"
    assert c1.text == "5月8日晚上在楼下充电时电池突然冒烟，幸好发现及时没有起火。\n要求厂家检测电池并退款。"
    assert c1.enterprise == "某新能源车业有限公司"
    assert c1.product == "电动自行车锂电池"
    assert c1.meta["status"] == "已回复"
    assert c1.published_at == datetime(2024, 5, 8, 21, 40, tzinfo=CST)
