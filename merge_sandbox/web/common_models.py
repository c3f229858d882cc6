"""List and retrieve routes for every common model, with injectable bad pages and schema drift."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from merge_sandbox.faults import Faults
from merge_sandbox.unified.listing import QueryError, enrich, fetch_page, render_page, retrieve
from merge_sandbox.unified.models import BY_PATH, ModelSpec
from merge_sandbox.web.api import PREFIX, category_of
from merge_sandbox.web.http import HttpError, linked_account, raw_json, sandbox

UNKNOWN_ENUMS = {
    "employment_status": "SUSPENDED",
    "gender": "UNSPECIFIED",
    "employment_type": "SEASONAL",
    "type": "COMMITTEE",
    "location_type": "HYBRID",
    "pay_period": "FORTNIGHT",
}
EXTRA_FIELDS: dict[str, Any] = {"pronouns": None, "external_ids": {"hr_system": "drift-1"}}
HTML_ERROR = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"


def _spec(request: Request) -> ModelSpec:
    spec = BY_PATH.get((category_of(request), str(request.path_params["model"])))
    if spec is None:
        raise HttpError(404, "Not found.")
    return spec


def _drift(faults: Faults, docs: list[dict[str, Any]]) -> None:
    state = faults.state
    for index, doc in enumerate(docs):
        if state.drift_extra_fields:
            doc.update(EXTRA_FIELDS)
        if state.drift_unknown_enums and index % 3 == 0:
            for name, value in UNKNOWN_ENUMS.items():
                if doc.get(name) is not None:
                    doc[name] = value


def list_objects(request: Request) -> Response:
    spec = _spec(request)
    account = linked_account(request, spec.category)
    box = sandbox(request)
    params = request.query_params
    try:
        fault = box.faults.take_list_fault(spec.name)
        cap = box.faults.state.page_size_cap
        page, raws = fetch_page(box.store, account["id"], spec, params, fault=fault, size_cap=cap)
        parsed = enrich(box.store, account, spec, page.docs, raws, params)
    except QueryError as exc:
        extra: dict[str, Any] = {exc.field: [exc.message]} if exc.field else {}
        raise HttpError(exc.status, exc.message, None, **extra) from exc
    if box.faults.state.drift_extra_fields or box.faults.state.drift_unknown_enums:
        parsed = parsed if parsed is not None else [orjson.loads(d) for d in page.docs]
        _drift(box.faults, parsed)
    body = render_page(page, parsed)
    return _with_page_fault(box.faults, body)


def _with_page_fault(faults: Faults, body: bytes) -> Response:
    mode = faults.take_page_fault()
    if mode == "truncate":
        return raw_json(body[: max(1, len(body) // 2)])
    if mode == "malformed":
        return raw_json(body.replace(b'"results":', b'"results":,', 1).replace(b"}", b"", 1))
    if mode == "html":
        return Response(HTML_ERROR, status_code=200, media_type="text/html")
    return raw_json(body)


def get_object(request: Request) -> Response:
    spec = _spec(request)
    account = linked_account(request, spec.category)
    box = sandbox(request)
    try:
        doc, raw = retrieve(box.store, account["id"], spec, str(request.path_params["id"]))
        parsed = enrich(box.store, account, spec, [doc], [raw], request.query_params)
    except QueryError as exc:
        raise HttpError(exc.status, exc.message) from exc
    if box.faults.state.drift_extra_fields or box.faults.state.drift_unknown_enums:
        parsed = parsed if parsed is not None else [orjson.loads(doc)]
        _drift(box.faults, parsed)
    return raw_json(orjson.dumps(parsed[0]) if parsed is not None else doc.encode())


routes = [
    Route(f"{PREFIX}/{{model}}", list_objects, methods=["GET"]),
    Route(f"{PREFIX}/{{model}}/{{id}}", get_object, methods=["GET"]),
]
