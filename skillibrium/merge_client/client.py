"""The one seam to Merge.dev: HTTP through httpx, every failure translated into merge_client.errors."""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson
from django.conf import settings
from django.utils import timezone

from . import budget
from .errors import AccountGone, BackingOff, MergeError, Misconfigured, RateLimited, RelinkNeeded, Transient
from .pacing import RateLimiter, with_retries

type JSON = dict[str, Any]
type KeyRefused = Callable[[str], object]
type Answered = Callable[[], object]
_on_key_refused: list[KeyRefused] = []
_on_answer: list[Answered] = []


def when_api_key_refused(callback: KeyRefused) -> None:
    """The integrations app hands over how to open the platform incident: wherever Merge refuses our key (a
    sync, the fleet poll, an admin's click), it opens right here, and this seam must not import that app."""
    _on_key_refused[:] = [callback]


def when_merge_answers(callback: Answered) -> None:
    """The integrations app hands over how to end an outage: any answer from Merge ends it at once, not the
    next fleet poll. Called once per client, on its first answer."""
    _on_answer[:] = [callback]


@dataclass(frozen=True)
class LinkedAccountToken:
    account_id: str
    # Out of the repr: error pages and reports list each frame's variables by their repr.
    account_token: str = field(repr=False)
    provider_name: str
    provider_slug: str


@dataclass(frozen=True)
class AccountDetails:
    account_id: str
    status: str
    status_detail: str
    provider_name: str
    provider_slug: str


class MergeClient:
    def __init__(
        self,
        *,
        category: str,
        account_token: str | None = None,
        account_id: str = "",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if account_token and not account_id:
            # Merge answers 401 for a bad API key and for a bad account token alike: telling them apart
            # means asking Merge about the account by its id.
            raise TypeError("an account token needs its linked account's id")
        self.category = category
        self.account_id = account_id
        headers = {"Authorization": f"Bearer {settings.MERGE_API_KEY}", "Accept": "application/json"}
        if account_token:
            headers["X-Account-Token"] = account_token
        self.requests = 0
        self.rate_limited = 0
        self.answered = False
        self.limiter = RateLimiter(settings.MERGE_RATE_LIMIT_PER_MINUTE)
        self.attempts = settings.MERGE_RETRY_ATTEMPTS
        self._http = httpx.Client(
            base_url=f"{settings.MERGE_API_URL}/{category}/v1/",
            headers=headers,
            timeout=settings.MERGE_TIMEOUT_SECONDS,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "MergeClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create_link_token(
        self, *, origin_id: str, organization_name: str, email: str, integration: str | None = None
    ) -> str:
        body: JSON = {
            "end_user_origin_id": origin_id,
            "end_user_organization_name": organization_name,
            "end_user_email_address": email,
            "categories": [self.category],
        }
        if integration:
            body["integration"] = integration
        return str(self._request("POST", "link-token", json=body)["link_token"])

    def create_magic_link(
        self,
        *,
        origin_id: str,
        organization_name: str,
        email: str,
        integration: str | None,
        expiry_minutes: int,
    ) -> str:
        """A Merge Link URL that works outside Skillibrium, for the person who holds the credentials."""
        body: JSON = {
            "end_user_origin_id": origin_id,
            "end_user_organization_name": organization_name,
            "end_user_email_address": email,
            "categories": [self.category],
            "should_create_magic_link_url": True,
            "link_expiry_mins": expiry_minutes,
        }
        if integration:
            body["integration"] = integration
        url = self._request("POST", "link-token", json=body).get("magic_link_url")
        if not url:
            raise MergeError("Merge did not return a magic link.")
        return str(url)

    def delete_account(self) -> None:
        self._request("POST", "delete-account")

    def exchange_public_token(self, public_token: str) -> LinkedAccountToken:
        data = self._request("GET", f"account-token/{public_token}")
        integration = data.get("integration") or {}
        return LinkedAccountToken(
            account_id=str(data["id"]),
            account_token=str(data["account_token"]),
            provider_name=str(integration.get("name") or ""),
            provider_slug=str(integration.get("slug") or ""),
        )

    def account_details(self) -> AccountDetails:
        data = with_retries(lambda: self._request("GET", "account-details"), attempts=self.attempts)
        return AccountDetails(
            account_id=str(data.get("id") or ""),
            status=str(data.get("status") or ""),
            status_detail=str(data.get("status_detail") or ""),
            provider_name=str(data.get("integration") or ""),
            provider_slug=str(data.get("integration_slug") or ""),
        )

    def sync_status(self) -> list[JSON]:
        return [status for page in self.pages("sync-status", {}) for status in page]

    def ongoing_issues(self, linked_account_id: str) -> list[JSON]:
        params = {"linked_account_id": linked_account_id, "status": "ONGOING"}
        found = (issue for page in self.pages("issues", params) for issue in page)
        return [issue for issue in found if issue.get("status", "ONGOING") == "ONGOING"]

    def pages(self, path: str, params: Mapping[str, str]) -> Iterator[list[JSON]]:
        """Yield each page's results, following Merge's opaque cursors until `next` is null."""
        query = {"page_size": "100", **params}
        while True:
            data = with_retries(lambda: self._request("GET", path, params=query), attempts=self.attempts)
            results = data.get("results")
            if not isinstance(results, list):
                raise Transient(f"Merge returned a malformed page for {path}.")
            yield results
            cursor = data.get("next")
            if not cursor:
                return
            query["cursor"] = str(cursor)

    def api_key_works(self) -> bool:
        """A cheap organisation-level call: whether Merge accepts Skillibrium's API key (False if unsure)."""
        try:
            self._request("GET", "linked-accounts", params={"page_size": "1"}, as_organization=True)
        except (Misconfigured, Transient, RateLimited, BackingOff):
            return False
        return True

    def is_listed(self) -> bool:
        """Whether Merge still lists this linked account, asked with the API key alone (production accounts
        are listed by default, test accounts only when asked for)."""
        for extra in ({}, {"is_test_account": "true"}):
            params = {"id": self.account_id, **extra}
            data = self._request("GET", "linked-accounts", params=params, as_organization=True)
            if any(str(a.get("id")) == self.account_id for a in data.get("results") or []):
                return True
        return False

    def _token_rejected(self, detail: str) -> MergeError:
        """Merge refused the request. The key alone decides whose credential it was: a key it refuses too is
        ours (Misconfigured, raised from the probe); an account it no longer lists is gone; an account it
        still lists had its token refused, which a relink issues again."""
        if not self.is_listed():
            return AccountGone(f"Merge no longer lists this linked account: {detail}")
        return RelinkNeeded(
            f"Merge refused this linked account's token but still lists the account: {detail}"
        )

    def _request(self, method: str, path: str, *, as_organization: bool = False, **kwargs: Any) -> JSON:
        self.limiter.acquire()
        self.requests += 1
        request = self._http.build_request(method, path, **kwargs)
        if as_organization:
            request.headers.pop("X-Account-Token", None)
        budget.check()
        try:
            response = self._http.send(request)
        except httpx.TimeoutException:
            raise Transient("Merge did not answer in time.") from None
        except httpx.TransportError as exc:
            raise Transient(f"Merge could not be reached ({type(exc).__name__}).") from None
        if response.status_code >= 400 and response.status_code != 429:
            budget.record(response.status_code)
        if response.status_code < 500 and response.status_code != 408 and not self.answered:
            self.answered = True
            for callback in _on_answer:
                callback()
        if response.status_code == 429:
            self.rate_limited += 1
            self.limiter.pause(_retry_after(response))
        if response.status_code in (401, 403) and "X-Account-Token" in request.headers:
            raise self._token_rejected(_without_credentials(_detail(response), request))
        _raise_for_status(response)
        try:
            data = orjson.loads(response.content) if response.content else {}
        except orjson.JSONDecodeError:
            raise Transient(f"Merge returned a body that is not JSON for {path}.") from None
        if not isinstance(data, dict):
            raise Transient(f"Merge returned an unexpected body for {path}.")
        return data


def _detail(response: httpx.Response) -> str:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text[:200]
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)[:200]


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("Retry-After", "")
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
    except (TypeError, ValueError):
        return 1.0


CREDENTIAL_HEADERS = ("Authorization", "X-Account-Token")
MASK = "********"


def _without_credentials(text: str, request: httpx.Request) -> str:
    """Merge, or a proxy on the way, may echo what it was sent; our errors end up in the database, in emails
    and on pages, so the API key and account token are masked here, at the seam."""
    for name in CREDENTIAL_HEADERS:
        value = request.headers.get(name, "")
        for secret in (value, value.removeprefix("Bearer ")):
            if len(secret) >= 8:
                text = text.replace(secret, MASK)
    return text


def _raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    detail = _without_credentials(_detail(response), response.request)
    if status == 429:
        raise RateLimited(f"Merge rate limit reached: {detail}", _retry_after(response))
    if status >= 500 or status == 408:
        raise Transient(f"Merge answered {status}: {detail}")
    if status in (401, 403):
        refused = Misconfigured(f"Merge rejected Skillibrium's API key: {detail}")
        for callback in _on_key_refused:
            callback(str(refused))
        raise refused
    raise MergeError(f"Merge answered {status}: {detail}")
