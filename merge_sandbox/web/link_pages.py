# ruff: noqa: E501 (the HTML template reads better unwrapped)
"""Merge Link pages: the script, the modal's page, the magic-link page, and form completion."""

from __future__ import annotations

import html
import re
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from merge_sandbox.catalog import INTEGRATIONS, for_category
from merge_sandbox.provider.tenants import get_tenant
from merge_sandbox.unified import linking
from merge_sandbox.web.http import HttpError, base_url, json_body, json_response, sandbox
from merge_sandbox.web.link_assets import INITIALIZE_JS, PAGE_CSS, PAGE_JS

NO_CACHE = {"Cache-Control": "no-store"}
ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


def initialize_js(request: Request) -> Response:
    headers = {**NO_CACHE, "Access-Control-Allow-Origin": "*"}
    return Response(INITIALIZE_JS, media_type="application/javascript", headers=headers)


def logo(request: Request) -> Response:
    slug = str(request.path_params["slug"])
    integration = INTEGRATIONS.get(slug)
    if integration is None:
        raise HttpError(404, "Not found.")
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" rx="12"'
        f' fill="{integration.color}"/><text x="32" y="42" font-size="30" text-anchor="middle" fill="#fff"'
        f' font-family="sans-serif">{html.escape(integration.name[0])}</text></svg>'
    )
    return Response(svg, media_type="image/svg+xml")


def _page_config(request: Request, token: str, magic: bool) -> tuple[dict[str, Any], int]:
    box = sandbox(request)
    parent = request.query_params.get("parent_origin", "")
    config: dict[str, Any] = {
        "token": token,
        "magic": magic,
        "parent_origin": parent if ORIGIN.match(parent) else "",
        "error": None,
        "relink": None,
        "integration": None,
        "integrations": [],
        "category": "hris",
    }
    try:
        link = linking.usable_link_token(box.store, box.clock, token)
    except linking.LinkError as exc:
        config["error"] = exc.message
        return config, exc.status
    config["category"] = link["category"]
    config["integration"] = link["integration"]
    config["integrations"] = [
        {"slug": i.slug, "name": i.name, "color": i.color} for i in for_category(link["category"])
    ]
    existing = linking.relink_target(box.store, link)
    if existing is not None:
        tenant = get_tenant(box.store, existing["tenant_id"])
        config["relink"] = {
            "tenant": tenant["subdomain"] if tenant else "",
            "integration": existing["integration"],
        }
    return config, 200


def _render(config: dict[str, Any], magic: bool) -> str:
    esc = html.escape
    data = orjson.dumps(config).decode().replace("<", "\\u003c")
    relink = config["relink"]
    title = "Relink your integration" if relink else f"Connect your {config['category'].upper()} system"
    close = (
        "" if magic else '<button id="close" type="button" aria-label="Close" title="Close">&times;</button>'
    )
    if config["error"]:
        body = f'<p id="error" role="alert">{esc(config["error"])}</p>'
    else:
        buttons = "".join(
            f'<button type="button" data-slug="{esc(i["slug"])}"><span class="dot" style="background:{esc(i["color"])}">'
            f"</span>{esc(i['name'])}</button>"
            for i in config["integrations"]
        )
        tenant_value = esc(relink["tenant"]) if relink else ""
        readonly = " readonly" if relink else ""
        body = f"""
<section id="picker"><p class="muted">Choose your provider.</p><div class="providers">{buttons}</div></section>
<form id="form" hidden autocomplete="off">
  <button type="button" id="back" class="back">&larr; Choose another provider</button>
  <p class="muted">Sign in to <strong id="provider-name"></strong> with the integration user.</p>
  <label for="tenant">Tenant</label><input id="tenant" name="tenant" value="{tenant_value}"{readonly} required>
  <label for="username">Username</label><input id="username" name="username" autocomplete="off" required>
  <label for="password">Password</label><input id="password" name="password" type="password" required>
  <p id="error" role="alert" hidden></p>
  <button id="connect" type="submit">Connect</button>
</form>
<p id="success" role="status" hidden>Success{"! Your account is connected. You can close this window." if magic else ""}</p>
"""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Merge Link</title>
<style>{PAGE_CSS}</style></head><body>
<header><h1>{esc(title)}</h1>{close}</header><main>{body}</main>
<script type="application/json" id="link-config">{data}</script><script>{PAGE_JS}</script></body></html>"""


def link_page(request: Request) -> Response:
    config, status = _page_config(request, str(request.path_params["token"]), magic=False)
    return HTMLResponse(_render(config, magic=False), status_code=status, headers=NO_CACHE)


def magic_page(request: Request) -> Response:
    box = sandbox(request)
    token = str(request.path_params["token"])
    row = box.store.one("SELECT magic FROM link_tokens WHERE token = ?", (token,))
    config, status = _page_config(request, token, magic=True)
    if row is not None and not row["magic"] and status == 200:
        config["error"], status = "This link was not created as a magic link.", 404
    return HTMLResponse(_render(config, magic=True), status_code=status, headers=NO_CACHE)


async def complete(request: Request) -> Response:
    body = await json_body(request)
    box = sandbox(request)
    token = str(request.path_params["token"])
    try:
        public = await run_in_threadpool(
            linking.complete_link,
            box.store,
            box.clock,
            box.engine,
            token,
            str(body.get("tenant", "")),
            str(body.get("username", "")),
            str(body.get("password", "")),
            base_url(request),
            body.get("integration") or None,
        )
    except linking.LinkError as exc:
        raise HttpError(exc.status, exc.message) from exc
    link = box.store.one("SELECT category FROM link_tokens WHERE token = ?", (token,))
    account = box.store.one(
        "SELECT integration FROM linked_accounts l JOIN public_tokens p"
        " ON p.linked_account_id = l.id WHERE p.token = ?",
        (public,),
    )
    return json_response(
        {
            "public_token": public,
            "integration": account["integration"] if account else None,
            "category": link["category"] if link else None,
        }
    )


routes = [
    Route("/link/initialize.js", initialize_js, methods=["GET"]),
    Route("/link/logos/{slug}.svg", logo, methods=["GET"]),
    Route("/link/m/{token}", magic_page, methods=["GET"]),
    Route("/link/{token}", link_page, methods=["GET"]),
    Route("/link/{token}/complete", complete, methods=["POST"]),
]
