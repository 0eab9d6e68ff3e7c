"""The analyze contract: texts in, risk judgements out, in input order, nothing stored.

Input, one JSON object per text::

    {"id": str, "text": str, "title"?: str, "source_type"?: str, "product"?: str,
     "shop"?: str, "brand"?: str, "rating"?: str|number, "published_at"?: str, "url"?: str}

Output, per input::

    {"id", "is_risk": bool, "risk_score": float 0-1, "hazards": [hazard codes],
     "harm_occurred": bool, "product_category": str|null,
     "risk_level": "high"|"medium"|"low"|null, "evidence": [str spans of the text]}

or, in a rejected input's place, the same shape over the CLI and HTTP::

    {"id": str|null, "error": "row N: <reason>" (JSONL files: "line N: …"), "row": int, "field": str|null}

Other tools call this contract: keep it stable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from riskmine.feeds.jsonl import read_jsonl
from riskmine.feeds.messages import at, json_kind, message
from riskmine.feeds.rows import Rejection
from riskmine.feeds.values import parse_document_time
from riskmine.pipeline import Pipeline
from riskmine.schema import RawDocument, Signal, SourceType

ANALYZE_FIELDS = ("id", "text", "title", "source_type", "product", "shop", "brand", "rating", "published_at", "url")
ANALYZE_SOURCE = "analyze"


def _rating(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(message("not_rating", value=repr(value)))
    if isinstance(value, int | float):
        return float(value)
    digits = "".join(ch for ch in str(value) if ch.isdigit() or ch == ".")
    if not digits:
        raise ValueError(message("not_rating", value=repr(value)))
    return float(digits)


def parse_item(row: int, obj: Any) -> RawDocument | Rejection:
    """Validate one analyze input; `row` is its 1-based position."""
    if not isinstance(obj, dict):
        return Rejection(row=row, reason=at("row", row, message("not_json_object", kind=json_kind(obj))))
    unknown = sorted(set(obj) - set(ANALYZE_FIELDS))
    if unknown:
        return Rejection(
            row=row,
            reason=at("row", row, message("unknown_analyze_field", name=unknown[0], known=", ".join(ANALYZE_FIELDS))),
            field=unknown[0],
        )
    ident = obj.get("id")
    if ident is None or (isinstance(ident, str) and not ident.strip()) or isinstance(ident, bool | dict | list):
        return Rejection(row=row, reason=at("row", row, message("missing_id")), field="id")
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        return Rejection(row=row, reason=at("row", row, message("missing_text")), field="text")
    source_type = obj.get("source_type") or SourceType.review.value
    if source_type not in SourceType.__members__:
        return Rejection(
            row=row,
            reason=at(
                "row",
                row,
                message("unknown_source_type", value=source_type, known=", ".join(SourceType.__members__)),
            ),
            field="source_type",
        )
    try:
        rating = _rating(obj.get("rating"))
    except ValueError as exc:
        reason = message("field_value", field=message("field", name="rating"), detail=exc)
        return Rejection(row=row, reason=at("row", row, reason), field="rating")
    published_at = obj.get("published_at") or None
    if published_at is not None:
        try:  # the same window as stored documents: 1990 to a day past the clock
            published_at = parse_document_time(published_at)
        except ValueError as exc:
            reason = message("field_value", field=message("field", name="published_at"), detail=exc)
            return Rejection(row=row, reason=at("row", row, reason), field="published_at")
    try:
        return RawDocument(
            source=ANALYZE_SOURCE,
            source_type=SourceType(source_type),
            source_id=str(ident),
            text=text,
            title=obj.get("title"),
            product=obj.get("product"),
            shop=obj.get("shop"),
            brand=obj.get("brand"),
            rating=rating,
            published_at=published_at,
            url=obj.get("url"),
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err.get("loc", ())) or None
        reason = message("invalid_field", name=name, detail=err.get("msg"))
        return Rejection(row=row, reason=at("row", row, reason), field=name)


def result_of(signal: Signal) -> dict[str, Any]:
    text = signal.normalized_text
    evidence = [span.text for span in signal.evidence] or [
        text[max(0, m.start - 15) : m.end + 15] for m in signal.hazards if m.in_sense is not False
    ]
    return {
        "id": signal.document.source_id,
        "is_risk": bool(signal.is_risk),
        "risk_score": round(float(signal.risk_score), 4),
        "hazards": [h.value for h in signal.hazard_codes] if signal.is_risk else [],
        "harm_occurred": bool(signal.harm_occurred),
        "product_category": signal.product_category,
        "risk_level": signal.risk_level.value if signal.risk_level else None,
        "evidence": list(dict.fromkeys(evidence)),
    }


def rejected_result(obj: Any, row: int, reason: str, field: str | None = None) -> dict[str, Any]:
    """What a rejected input yields in its place: its id (when it had a usable one), why, its row and field."""
    ident = obj.get("id") if isinstance(obj, dict) else None
    if isinstance(ident, bool) or not isinstance(ident, str | int | float):
        ident = None
    return {"id": None if ident is None else str(ident), "error": reason, "row": row, "field": field}


def analyze_rows(rows: Sequence[Any], pipeline: Pipeline) -> tuple[list[dict[str, Any] | None], list[Rejection]]:
    """Results aligned with `rows` (None where a row was rejected) and the rejections."""
    parsed = [parse_item(i, obj) for i, obj in enumerate(rows, start=1)]
    docs = [p for p in parsed if isinstance(p, RawDocument)]
    signals = iter(pipeline.process(docs)) if docs else iter(())
    results: list[dict[str, Any] | None] = []
    rejected: list[Rejection] = []
    for p in parsed:
        if isinstance(p, Rejection):
            results.append(None)
            rejected.append(p)
        else:
            results.append(result_of(next(signals)))
    return results, rejected


def analyze_file(
    in_path: Path,
    out_path: Path,
    pipeline: Pipeline,
    *,
    batch_size: int = 256,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, list[Rejection]]:
    """Stream `in_path` (JSONL) through the pipeline into `out_path`, one result line per input line.

    A rejected line yields `rejected_result` in its place, so
    output line N always answers input line N (blank lines excepted).
    """
    written = 0
    rejected: list[Rejection] = []
    rows = read_jsonl(in_path)  # detects the encoding now: an undecodable file fails before any output
    with out_path.open("w", encoding="utf-8") as out:
        batch: list[tuple[int, Any]] = []

        def flush() -> None:
            nonlocal written
            objs = [obj for _, obj in batch]
            parsed = [
                obj if isinstance(obj, Rejection) else parse_item(lineno, obj)
                for (lineno, _), obj in zip(batch, objs, strict=True)
            ]
            docs = [p for p in parsed if isinstance(p, RawDocument)]
            signals = iter(pipeline.process(docs)) if docs else iter(())
            for (_, obj), p in zip(batch, parsed, strict=True):
                if isinstance(p, Rejection):
                    rejected.append(p)
                    line = rejected_result(obj, p.row, p.reason, p.field)
                else:
                    line = result_of(next(signals))
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                written += 1
            if progress:
                progress(len(batch))
            batch.clear()

        for item in rows:
            batch.append(item)
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
    return written, rejected
