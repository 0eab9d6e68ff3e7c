"""The public report page: anyone (a unit, an organisation or a person; Shanxi plan 二.(三): 任何单位、组织和个人均
可以…提供风险信息) reports risk information without logging in. The form goes through the same service as
``POST /api/v1/public-reports`` (rate limit per client, contact kept for admins only, personal data masked in the
text); a receipt page thanks the reporter, and a refused form is shown again with the reasons in Chinese."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from riskmine.api.deps import OptionalUserDep, StateDep, StoreDep
from riskmine.api.errors import ApiError
from riskmine.api.routers.console import pagekit
from riskmine.api.routers.public_reports import (
    MAX_DESCRIPTION_CHARS,
    PUBLIC_REPLY,
    PUBLIC_REPLY_DUPLICATE,
    PublicReport,
    receive_public_report,
)
from riskmine.schema.labels import PUBLIC_REPORT_FIELD_LABELS, REPORTER_KIND_LABELS

router = APIRouter()

MAX_PRODUCT_CHARS = 200
MAX_PROBLEM_CHARS = 200
MAX_REGION_CHARS = 100
MAX_CONTACT_CHARS = 200
MAX_LINK_CHARS = 2_000
MIN_DESCRIPTION_CHARS = 5
_RECEIPT = re.compile(r"^[A-Za-z0-9:_.-]{1,100}$")


def _clean(value: str) -> str:
    return " ".join(value.split())


def _problems(fields: dict[str, str]) -> list[str]:
    """What is wrong with the form, in Chinese, one line a field."""
    label = PUBLIC_REPORT_FIELD_LABELS
    out: list[str] = []
    for name, limit in (
        ("product", MAX_PRODUCT_CHARS),
        ("problem", MAX_PROBLEM_CHARS),
        ("region", MAX_REGION_CHARS),
        ("contact", MAX_CONTACT_CHARS),
        ("link", MAX_LINK_CHARS),
        ("text", MAX_DESCRIPTION_CHARS),
    ):
        if len(fields[name]) > limit:
            out.append(f"“{label[name]}”不能超过 {limit:,} 个字（现有 {len(fields[name]):,} 个）。")
    if not fields["product"]:
        out.append(f"请填写“{label['product']}”，如：电动自行车、儿童推车。")
    if not fields["problem"]:
        out.append(f"请填写“{label['problem']}”，如：充电时起火冒烟。")
    elif len(fields["problem"] + fields["text"]) < MIN_DESCRIPTION_CHARS:
        out.append(f"“{label['problem']}”和“{label['text']}”合计至少 {MIN_DESCRIPTION_CHARS} 个字，请说得具体一些。")
    if fields["link"] and not fields["link"].lower().startswith(("http://", "https://")):
        out.append(f"“{label['link']}”须以 http:// 或 https:// 开头。")
    if fields["kind"] not in REPORTER_KIND_LABELS:
        out.append(f"请选择“{label['kind']}”：{'、'.join(REPORTER_KIND_LABELS.values())}。")
    return out


def _description(fields: dict[str, str]) -> str:
    parts = [fields["problem"], fields["text"]]
    if fields["region"]:
        parts.append(f"地区：{fields['region']}")
    return "\n".join(p for p in parts if p)


def _form_page(request: Request, user: Any, fields: dict[str, str], errors: list[str], status_code: int) -> Response:
    context = {"user": user, "fields": fields, "errors": errors, "kinds": REPORTER_KIND_LABELS}
    context |= {"limits": {"product": MAX_PRODUCT_CHARS, "problem": MAX_PROBLEM_CHARS, "region": MAX_REGION_CHARS}}
    context |= {"labels": PUBLIC_REPORT_FIELD_LABELS, "max_text": MAX_DESCRIPTION_CHARS}
    return pagekit.render(request, "public_report.html", context, status_code=status_code)


@router.get("/public-report")
def public_report_page(
    request: Request, user: OptionalUserDep, received: str | None = None, duplicate: str | None = None
) -> Response:
    """The form (anyone, logged in or not), or after a report the receipt with its number."""
    if received is not None and _RECEIPT.match(received):
        context = {
            "user": user,
            "receipt": received,
            "message": PUBLIC_REPLY_DUPLICATE if duplicate else PUBLIC_REPLY,
            "duplicate": bool(duplicate),
        }
        return pagekit.render(request, "public_report_received.html", context)
    blank = dict.fromkeys(("product", "problem", "region", "contact", "link", "text"), "")
    return _form_page(request, user, {**blank, "kind": "person"}, [], 200)


@router.post("/public-report")
async def public_report_form(
    request: Request,
    state: StateDep,
    store: StoreDep,
    user: OptionalUserDep,
    kind: Annotated[str, Form()] = "person",
    product: Annotated[str, Form()] = "",
    problem: Annotated[str, Form()] = "",
    region: Annotated[str, Form()] = "",
    contact: Annotated[str, Form()] = "",
    link: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
) -> Response:
    """A public report from the form: checked (the reasons in Chinese), then received as the API receives one;
    the browser goes on to the receipt."""
    pagekit.refuse_cross_site(request, "public report")
    fields = {k: _clean(v) for k, v in (("kind", kind), ("product", product), ("problem", problem))}
    fields |= {k: _clean(v) for k, v in (("region", region), ("contact", contact), ("link", link))}
    fields["text"] = text.strip()
    errors = _problems(fields)
    if errors:
        return _form_page(request, user, fields, errors, 422)
    try:
        report = PublicReport(
            product=fields["product"],
            description=_description(fields),
            contact=fields["contact"] or None,
            link=fields["link"] or None,
        )
    except ValidationError as exc:
        names = {str(e["loc"][0]) for e in exc.errors() if e.get("loc")}
        shown = [PUBLIC_REPORT_FIELD_LABELS.get(n, n) for n in sorted(names)]
        errors = [f"“{name}”含有无法识别的字符或格式不对，请修改后再提交。" for name in shown]
        return _form_page(request, user, fields, errors, 422)
    meta = {"reporter_kind": fields["kind"]} | ({"region": fields["region"]} if fields["region"] else {})
    try:
        doc, duplicate = await receive_public_report(request, state, store, report, meta=meta)
    except ApiError as exc:
        if exc.status != 429:
            raise
        response = _form_page(request, user, fields, [exc.message], 429)
        response.headers.update(exc.headers)
        return response
    query = {"received": doc.id} | ({"duplicate": "1"} if duplicate else {})
    return RedirectResponse(f"/public-report?{urlencode(query)}", status_code=303)
