"""Listing and retrieving common models: filters, opaque cursors, expand and remote data.

Cursors carry the row's insertion sequence, not an offset, so rows added while a client pages
through never shift or repeat what it sees. Without expand or remote data a page is one indexed
query and a string join of the stored documents.
"""

from __future__ import annotations

import base64
import binascii
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

import orjson

from merge_sandbox.catalog import INTEGRATIONS
from merge_sandbox.clock import iso, parse_iso
from merge_sandbox.store import Store
from merge_sandbox.unified.models import ModelSpec, merge_id

MAX_PAGE = 100

# param -> (match kind, JSON path[, key inside array items])
FILTERS: dict[str, dict[str, tuple[str, ...]]] = {
    "Employee": {
        "company_id": ("eq", "$.company"),
        "employment_status": ("eq", "$.employment_status"),
        "first_name": ("eq", "$.first_name"),
        "last_name": ("eq", "$.last_name"),
        "display_full_name": ("eq", "$.display_full_name"),
        "employee_number": ("eq", "$.employee_number"),
        "groups": ("any", "$.groups"),
        "team_id": ("eq", "$.team"),
        "manager_id": ("eq", "$.manager"),
        "pay_group_id": ("eq", "$.pay_group"),
        "home_location_id": ("eq", "$.home_location"),
        "work_location_id": ("eq", "$.work_location"),
        "work_email": ("eq", "$.work_email"),
        "personal_email": ("eq", "$.personal_email"),
        "started_after": ("gt", "$.start_date"),
        "started_before": ("lt", "$.start_date"),
        "terminated_after": ("gt", "$.termination_date"),
        "terminated_before": ("lt", "$.termination_date"),
    },
    "Employment": {"employee_id": ("eq", "$.employee")},
    "Team": {"parent_team_id": ("eq", "$.parent_team")},
    "Group": {
        "types": ("in", "$.type"),
        "names": ("in", "$.name"),
        "is_commonly_used_as_team": ("bool", "$.is_commonly_used_as_team"),
    },
    "Location": {"location_type": ("eq", "$.location_type")},
    "User": {"email": ("eq", "$.email")},
    "Account": {"name": ("eq", "$.name"), "owner_id": ("eq", "$.owner")},
    "Contact": {
        "account_id": ("eq", "$.account"),
        "email_addresses": ("any_key", "$.email_addresses", "email_address"),
        "phone_numbers": ("any_key", "$.phone_numbers", "phone_number"),
    },
}


class QueryError(Exception):
    def __init__(self, message: str, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


@dataclass
class Page:
    next: str | None
    previous: str | None
    docs: list[str]


def truthy(value: str | None) -> bool:
    return value is not None and value.lower() in {"true", "1", "yes"}


def encode_cursor(position: int, reverse: bool, resume: int | None = None) -> str:
    query = {"r": "1", "p": str(position)} if reverse else {"p": str(position)}
    if resume is not None:
        query["then"] = str(resume)  # a reordered list: after this page, go on after `resume`
    return base64.b64encode(urlencode(query).encode()).decode()


def _parse_cursor(cursor: str) -> dict[str, list[str]]:
    try:
        return parse_qs(base64.b64decode(cursor.encode(), validate=True).decode(), strict_parsing=True)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise QueryError("Invalid cursor", 404) from exc


def decode_cursor(cursor: str) -> tuple[int, bool]:
    parsed = _parse_cursor(cursor)
    try:
        return int(parsed["p"][0]), parsed.get("r", ["0"])[0] == "1"
    except (ValueError, KeyError) as exc:
        raise QueryError("Invalid cursor", 404) from exc


def _resume_of(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        return int(_parse_cursor(cursor)["then"][0])
    except (ValueError, KeyError):
        return None


def _stamp(params: Mapping[str, str], name: str, plain: bool = False) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        moment = parse_iso(value)
    except ValueError as exc:
        raise QueryError("Enter a valid date/time.", field=name) from exc
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if plain else iso(moment)


def _conditions(account_id: str, spec: ModelSpec, params: Mapping[str, str]) -> tuple[list[str], list[Any]]:
    where, args = ["account_id = ?", "model = ?"], [account_id, spec.name]
    if not truthy(params.get("include_deleted_data")):
        where.append("deleted = 0")
    for name, op in (("modified_after", ">"), ("modified_before", "<")):
        if (value := _stamp(params, name)) is not None:
            where.append(f"modified_at {op} ?")
            args.append(value)
    for name, op in (("created_after", ">"), ("created_before", "<")):
        if (value := _stamp(params, name)) is not None:
            where.append(f"created_at {op} ?")
            args.append(value)
    if params.get("remote_id"):
        where.append("id = ?")
        args.append(merge_id(account_id, spec.name, params["remote_id"]))
    for name, rule in FILTERS.get(spec.name, {}).items():
        value = params.get(name)
        if value is None or value == "":
            continue
        clause, values = _filter_clause(name, rule, value, params)
        where.append(clause)
        args.extend(values)
    return where, args


def _filter_clause(
    name: str, rule: tuple[str, ...], value: str, params: Mapping[str, str]
) -> tuple[str, list[Any]]:
    kind, path = rule[0], rule[1]
    if kind == "eq":
        return f"json_extract(doc, '{path}') = ?", [value]
    if kind == "bool":
        return f"json_extract(doc, '{path}') = ?", [1 if truthy(value) else 0]
    if kind in {"gt", "lt"}:
        stamp = _stamp(params, name, plain=True)
        return f"json_extract(doc, '{path}') {'>' if kind == 'gt' else '<'} ?", [stamp]
    items = [v for v in value.split(",") if v]
    marks = ",".join("?" * len(items))
    if kind == "in":
        return f"json_extract(doc, '{path}') IN ({marks})", items
    if kind == "any":
        clause = f"EXISTS (SELECT 1 FROM json_each(doc, '{path}') WHERE value IN ({marks}))"  # noqa: S608
        return clause, items
    key = rule[2]
    # Only placeholders and paths from FILTERS are interpolated into these clauses.
    inner = f"SELECT 1 FROM json_each(doc, '{path}') WHERE json_extract(value, '$.{key}') IN ({marks})"  # noqa: S608
    return f"EXISTS ({inner})", items


def page_size(params: Mapping[str, str], cap: int | None = None) -> int:
    try:
        size = max(1, min(MAX_PAGE, int(params.get("page_size") or MAX_PAGE)))
    except ValueError:
        size = MAX_PAGE
    return min(size, cap) if cap else size


def fetch_page(
    store: Store,
    account_id: str,
    spec: ModelSpec,
    params: Mapping[str, str],
    *,
    fault: str | None = None,
    size_cap: int | None = None,
) -> tuple[Page, list[str]]:
    """The page's stored documents (and raw provider records) plus its cursors; `fault` (LIST_FAULTS)
    serves it the way a faulty list would."""
    size = page_size(params, size_cap)
    where, args = _conditions(account_id, spec, params)
    position, reverse = decode_cursor(params["cursor"]) if params.get("cursor") else (0, False)
    resume = _resume_of(params.get("cursor"))
    rows, more = _rows(store, where, args, position, reverse, size)
    if fault == "reorder" and more and not reverse:
        # The next page first; its cursor comes back here, then goes on after the page served first.
        rows, _ = _rows(store, where, args, rows[-1]["seq"], False, size)
        page = Page(encode_cursor(position, False, resume=rows[-1]["seq"]), None, [r["doc"] for r in rows])
        return page, [r["raw"] for r in rows]
    next_cursor = previous = None
    if rows:
        earlier = more if reverse else position > 0
        later = True if reverse else more
        next_cursor = encode_cursor(rows[-1]["seq"], False) if later else None
        previous = encode_cursor(rows[0]["seq"], True) if earlier else None
        if resume is not None and not reverse:
            after = _rows(store, where, args, resume, False, 1)[0]
            next_cursor = encode_cursor(resume, False) if after else None
    if fault == "repeat":
        next_cursor = params.get("cursor") or encode_cursor(0, False)
    elif fault == "omit":
        rows = rows[1::2]  # every other record, from the first, is left out; the cursors stay right
    elif fault == "end_early":
        rows, next_cursor = rows[: len(rows) // 2], None
    return Page(next_cursor, previous, [r["doc"] for r in rows]), [r["raw"] for r in rows]


def _rows(
    store: Store, where: list[str], args: list[Any], position: int, reverse: bool, size: int
) -> tuple[list[sqlite3.Row], bool]:
    """Up to `size` rows after (or, reversed, before) `position`, in list order, and whether more follow."""
    op, order = ("<", "DESC") if reverse else (">", "ASC")
    conditions = " AND ".join([*where, f"seq {op} ?"])
    sql = f"SELECT seq, doc, raw FROM common WHERE {conditions} ORDER BY seq {order} LIMIT ?"  # noqa: S608
    rows = store.all(sql, [*args, position, size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if reverse:
        rows.reverse()
    return rows, more


def retrieve(store: Store, account_id: str, spec: ModelSpec, object_id: str) -> tuple[str, str]:
    row = store.one(
        "SELECT doc, raw FROM common WHERE id = ? AND account_id = ? AND model = ?",
        (object_id, account_id, spec.name),
    )
    if row is None:
        raise QueryError("Not found.", 404)
    return row["doc"], row["raw"]


def enrich(
    store: Store,
    account: sqlite3.Row,
    spec: ModelSpec,
    docs: list[str],
    raws: list[str],
    params: Mapping[str, str],
) -> list[dict[str, Any]] | None:
    """Parse and decorate documents when expand or remote data is asked for; None when not needed."""
    expand = [e for e in (params.get("expand") or "").split(",") if e in spec.expands]
    remote = truthy(params.get("include_remote_data"))
    if not expand and not remote:
        return None
    parsed = [orjson.loads(d) for d in docs]
    if expand:
        _expand(store, account["id"], parsed, expand)
    if remote:
        path = INTEGRATIONS[account["integration"]].remote_path
        for doc, raw in zip(parsed, raws, strict=True):
            doc["remote_data"] = [{"path": path, "data": orjson.loads(raw)}]
    return parsed


def _expand(store: Store, account_id: str, docs: list[dict[str, Any]], fields: list[str]) -> None:
    wanted: set[str] = set()
    for doc in docs:
        for name in fields:
            value = doc.get(name)
            if isinstance(value, str):
                wanted.add(value)
            elif isinstance(value, list):
                wanted.update(v for v in value if isinstance(v, str))
    found: dict[str, Any] = {}
    ids = sorted(wanted)
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        # The unary + keeps SQLite on the id index; on account_id it would scan the account's every row.
        sql = f"SELECT id, doc FROM common WHERE +account_id = ? AND id IN ({','.join('?' * len(chunk))})"  # noqa: S608
        for row in store.all(sql, [account_id, *chunk]):
            found[row["id"]] = orjson.loads(row["doc"])
    for doc in docs:
        for name in fields:
            value = doc.get(name)
            if isinstance(value, str):
                doc[name] = found.get(value, value)
            elif isinstance(value, list):
                doc[name] = [found.get(v, v) for v in value]


def render_page(page: Page, parsed: list[dict[str, Any]] | None) -> bytes:
    head = b'{"next":' + orjson.dumps(page.next) + b',"previous":' + orjson.dumps(page.previous)
    if parsed is not None:
        return head + b',"results":' + orjson.dumps(parsed) + b"}"
    return head + b',"results":[' + ",".join(page.docs).encode() + b"]}"
