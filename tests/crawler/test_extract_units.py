"""Extraction and configuration pieces that need no crawl."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from riskmine.crawler.cli import due_sources
from riskmine.crawler.extract import DamagedFeed, ExtractError, decode_html, parse_feed
from riskmine.crawler.sources import ConfigError, load_sources, parse_interval
from riskmine.settings import Settings


def test_decode_gbk_from_meta_and_header() -> None:
    page = '<html><head><meta charset="gb2312"></head><body>充电宝起火𠀀</body></html>'.encode("gb18030")
    assert "充电宝起火𠀀" in decode_html(page)  # GB2312 declared, GB18030 characters still decoded
    assert "充电宝" in decode_html("<p>充电宝</p>".encode("gbk"), "GBK")


def test_parse_feed_rss_atom_sitemap_and_error() -> None:
    rss = b"<rss><channel><item><title>t</title><link>/a.html</link></item></channel></rss>"
    atom = b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>x</title><link href="/b.html"/></entry></feed>'
    sitemap = b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>http://h/c</loc></url></urlset>'
    assert [e.url for e in parse_feed(rss)] == ["/a.html"]
    assert [e.url for e in parse_feed(atom)] == ["/b.html"]
    assert [e.url for e in parse_feed(sitemap)] == ["http://h/c"]
    with pytest.raises(ExtractError, match="root element <html>"):
        parse_feed(b"<html><body/></html>")


def test_a_feed_cut_off_in_transfer_is_damaged_but_its_entries_are_kept() -> None:
    items = "".join(f"<item><title>召回{i}</title><link>/n{i}.html</link></item>" for i in range(3))
    whole = f'<?xml version="1.0" encoding="utf-8"?><rss><channel>{items}</channel></rss>'.encode()
    assert len(parse_feed(whole)) == 3
    cut = whole[: whole.index(b"<item><title>\xe5\x8f\xac\xe5\x9b\x9e2") + 20]  # inside the third item
    with pytest.raises(DamagedFeed, match="malformed or cut off") as caught:
        parse_feed(cut)
    assert [e.url for e in caught.value.entries] == ["/n0.html", "/n1.html"]
    assert isinstance(caught.value, ExtractError)  # counted as the source's parse error


def test_sources_errors_name_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[source.x]\nspider = "bogus"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[source.x\]: 'spider' must be one of"):
        load_sources(path)
    path.write_text('[source.x]\nspider = "news"\ninterval = "soon"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="interval 'soon' is not a duration"):
        load_sources(path)
    assert parse_interval("6h") == timedelta(hours=6)


def test_due_sources_follow_intervals(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        '[source.a]\nspider = "news"\ninterval = "1h"\n[source.b]\nspider = "news"\ninterval = "1d"\n'
        '[source.c]\nspider = "news"\nenabled = false\n',
        encoding="utf-8",
    )
    settings = Settings(var_dir=tmp_path / "var")
    (tmp_path / "var" / "crawl").mkdir(parents=True)
    ran = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    (tmp_path / "var" / "crawl" / "health.json").write_text(
        f'{{"a": {{"last_run": "{ran}"}}, "b": {{"last_run": "{ran}"}}}}', encoding="utf-8"
    )
    assert due_sources(settings, sources_file=path) == ["a"]
