"""The pages an admin opens, at size: My Org (first and a deep page, searches by last name, email fragment
and title), Company Settings > People, the audit log (newest, a deep and the oldest page, by action, by
target) and the review queue after a mass hold, over one organization of 100,000 people with a million audit
entries; then that log's CSV export under the ASGI server (uvicorn): time to its first byte and the server's
resident memory while it streams, three times over.

Run by `python -m bench.worker ui` in a freshly migrated database of its own, with DEBUG off. The people are
written by COPY (bench/directory_pages.py), the audit entries and held changes by one INSERT ... SELECT each,
then the database is vacuumed and analysed as autovacuum would. Pages go through Django's test client (every
middleware, the session, the template): times are the server's, without a network.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.directory_pages import DOMAIN, REPETITIONS, Big, build, name_of, timed

if TYPE_CHECKING:
    from django.test import Client

REPO = Path(__file__).resolve().parents[1]
TARGET_P95_MS = 50.0
TITLES = [
    f"{level} {role}"
    for level in ("Junior", "Senior", "Lead", "Principal", "Staff")
    for role in (
        "Software Engineer", "Account Executive", "Payroll Specialist", "Data Analyst", "Designer",
        "Recruiter", "Support Agent", "Product Manager", "Accountant", "Nurse",
    )
]  # fmt: skip
# (share of the log in thousandths, action): every kind a sync or an admin writes, common to rare.
ACTIONS = (
    (400, "user.updated"), (250, "user.created"), (150, "invitation.sent"), (100, "user.deactivated"),
    (50, "invitation.accepted"), (20, "review.approved"), (10, "review.rejected"),
    (10, "integration.relinked"), (5, "provisioning.policy_changed"), (5, "sso.configured"),
)  # fmt: skip
HELD = 20_000
EXPORTS = 3


def seed(big: Big, entries: int) -> dict[str, float]:
    """Titles and teams for the people, `entries` audit entries about them (one a minute, newest now), and a
    mass hold of HELD deactivations, each written by the database in one statement."""
    from django.db import connection

    started = time.perf_counter()
    org, admin = big.organization.pk, big.admin.pk
    bucket, cases = 0, []
    for share, action in ACTIONS:
        cases.append(f"WHEN n %% 1000 < {bucket + share} THEN '{action}'")
        bucket += share
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE directory_person SET title = (%s::text[])[1 + id %% %s], team = 'Team ' || (id %% 40)"
            " WHERE organization_id = %s",
            [TITLES, len(TITLES), org],
        )
        cursor.execute(
            f"""INSERT INTO core_auditentry (organization_id, at, actor_id, action, target, detail, run_id)
            SELECT %s, now() - make_interval(mins => n), CASE WHEN n %% 7 = 0 THEN %s END,
                   CASE {" ".join(cases)} ELSE 'support.requested' END,
                   p.work_email, jsonb_build_object('n', n), CASE WHEN n %% 3 > 0 THEN n / 5000 END
            FROM generate_series(1, %s) AS n
            JOIN (SELECT row_number() OVER (ORDER BY id) - 1 AS k, work_email FROM directory_person
                  WHERE organization_id = %s) AS p ON p.k = n %% %s""",
            [org, admin, entries, org, big.people],
        )
        audited = time.perf_counter()
        cursor.execute(
            """INSERT INTO provisioning_heldchange (organization_id, person_id, kind, reason, status,
                   evidence, evidence_key, profile, created_at)
            SELECT organization_id, id, 'deactivate', 'mass_deactivation', 'pending',
                   'Terminated in the HRIS', '', '{}', now() - make_interval(secs => id %% 600)
            FROM directory_person WHERE organization_id = %s ORDER BY id LIMIT %s""",
            [org, HELD],
        )
    held = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {
        "audit_insert_s": round(audited - started, 1),
        "held_insert_s": round(held - audited, 1),
        "vacuum_analyze_s": round(time.perf_counter() - held, 1),
    }


def cases(big: Big) -> list[tuple[str, str, dict[str, str]]]:
    """(case, URL, query string) of each page timed."""
    from django.urls import reverse

    from skillibrium.core.models import AuditEntry

    entries = AuditEntry.objects.filter(organization=big.organization).order_by("-at", "-id")
    middle = str(entries.values_list("pk", flat=True)[entries.count() // 2])
    _, last_name, email = name_of(big.people // 3 + 17)  # someone in the middle
    my_org, people, audit = reverse("directory:my_org"), reverse("accounts:people"), reverse("audit_log")
    review = reverse("provisioning:review")
    return [
        ("HRIS Settings (a small page, for comparison)", reverse("integrations:hris_settings"), {}),
        ("My Org: first page", my_org, {}),
        ("My Org: page 1,000", my_org, {"page": "1000"}),
        ("My Org: search by last name", my_org, {"q": last_name}),
        ("My Org: search by email fragment", my_org, {"q": email.split("@")[0][-12:]}),
        ("My Org: search by title", my_org, {"q": "payroll specialist"}),
        ("My Org: search, no match", my_org, {"q": "zzqx"}),
        ("People: first page", people, {}),
        ("People: search by last name", people, {"q": last_name}),
        ("audit log: first page", audit, {}),
        ("audit log: middle page", audit, {"after": middle}),
        ("audit log: last page", audit, {"oldest": "1"}),
        ("audit log: by a common action", audit, {"action": "user.deactivated"}),
        ("audit log: by a rare action", audit, {"action": "sso.configured"}),
        ("audit log: by a rare action, last page", audit, {"action": "sso.configured", "oldest": "1"}),
        ("audit log: searched by target", audit, {"q": email}),
        ("audit log: searched by a fragment", audit, {"q": email.split("@")[0][-12:]}),
        ("audit log: searched, no match", audit, {"q": f"nobody@{DOMAIN}"}),
        ("review queue: 20,000 held", review, {}),
        ("review queue: last page", review, {"oldest": "1"}),
    ]


def pages(big: Big, client: Client) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    out: dict[str, Any] = {}
    for name, url, params in cases(big):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, params)
        count = len(queries)
        assert response.status_code == 200, (name, response.status_code)
        size = len(response.content)
        case = timed(lambda url=url, params=params: client.get(url, params), REPETITIONS).summary()  # type: ignore[misc]
        verdict = "met" if case["p95_ms"] <= TARGET_P95_MS else "MISSED"
        out[name] = case | {"queries": count, "page_kb": round(size / 1024, 1), "verdict": verdict}
    return out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rss_mb(pid: int) -> float:
    import psutil

    return round(psutil.Process(pid).memory_info().rss / 2**20, 1)


def csv_export(client: Client, entries: int) -> dict[str, Any]:
    """The audit CSV under uvicorn (as production serves it), EXPORTS times over one server: time to the
    first byte and to the last, and the server's RSS sampled every 10 ms while it streams."""
    import httpx
    from django.conf import settings

    port = _free_port()
    command = ["-m", "uvicorn", "skillibrium.asgi:application", "--port", str(port), "--no-access-log"]
    server = subprocess.Popen(
        [sys.executable, *command, "--log-level", "warning"],
        cwd=REPO,
        env=os.environ.copy(),
    )
    base = f"http://127.0.0.1:{port}"
    cookies = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
    try:
        _wait_until_up(base)
        httpx.get(f"{base}/settings/company/audit/", cookies=cookies, timeout=60).raise_for_status()
        before = _rss_mb(server.pid)
        runs = [
            _one_export(server.pid, f"{base}/settings/company/audit.csv", cookies) for _ in range(EXPORTS)
        ]
        after = _rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    for run in runs:
        assert run["rows"] >= entries, run  # the whole log
    return {
        "server": "uvicorn",
        "entries": entries,
        "rss_before_mb": before,
        "rss_after_mb": after,
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "first_byte_ms": max(r["first_byte_ms"] for r in runs),
        "runs": runs,
    }


def _wait_until_up(base: str) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/", timeout=5)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _one_export(pid: int, url: str, cookies: dict[str, str]) -> dict[str, Any]:
    import httpx

    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(_rss_mb(pid))
            done.wait(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    first = 0.0
    size = lines = 0
    with httpx.stream("GET", url, cookies=cookies, timeout=600) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            if not first:
                first = time.perf_counter() - started
            size += len(chunk)
            lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    return {
        "first_byte_ms": round(first * 1000, 1),
        "seconds": round(elapsed, 2),
        "mb": round(size / 2**20, 1),
        "rows": lines - 1,  # the header; no cell holds a line break here
        "peak_rss_mb": max(samples),
        "samples": len(samples),
    }


def run(people: int, entries: int) -> dict[str, Any]:
    from django.test import Client

    started = time.perf_counter()
    big = build(people)
    built = round(time.perf_counter() - started, 1)
    seeded = seed(big, entries)
    client = Client(HTTP_HOST="localhost")
    client.force_login(big.admin)
    return {
        "people": people,
        "audit_entries": entries,
        "held": HELD,
        "built_s": built,
        "seeded": seeded,
        "target_p95_ms": TARGET_P95_MS,
        "pages": pages(big, client),
        "csv_export": csv_export(client, entries),
    }
