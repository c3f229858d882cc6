"""The bench's own PostgreSQL databases: created, migrated, copied for each run and dropped at the end."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dj_database_url
import psycopg
from psycopg import sql

REPO = Path(__file__).resolve().parents[1]


class Server:
    """One PostgreSQL server, reached through the `postgres` maintenance database. The bench's databases are
    named after DATABASE_URL's (skillibrium_bench* beside skillibrium, skillibrium_x_bench* beside
    skillibrium_x), so two clones can run it on one server at the same time."""

    def __init__(self, url: str) -> None:
        self.config: dict[str, Any] = dict(dj_database_url.parse(url))
        self.stem = str(self.config.get("NAME") or "skillibrium")

    def own(self, name: str) -> str:
        return self.stem + name.removeprefix("skillibrium")

    def url(self, name: str) -> str:
        name = self.own(name)
        c = self.config
        password = f":{c['PASSWORD']}" if c.get("PASSWORD") else ""
        return f"postgres://{c['USER']}{password}@{c['HOST'] or '127.0.0.1'}:{c['PORT'] or 5432}/{name}"

    def _admin(self) -> psycopg.Connection[Any]:
        c = self.config
        return psycopg.connect(
            host=c["HOST"] or "127.0.0.1",
            port=c["PORT"] or 5432,
            user=c["USER"],
            password=c["PASSWORD"] or None,
            dbname="postgres",
            autocommit=True,
        )

    def create(self, name: str, template: str | None = None) -> str:
        self.drop(name)
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.own(name)))
        if template:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(self.own(template)))
        with self._admin() as conn:
            conn.execute(statement)
        return self.url(name)

    def drop(self, name: str) -> None:
        with self._admin() as conn:
            statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(self.own(name))
            )
            conn.execute(statement)

    def size_mb(self, name: str) -> float:
        with self._admin() as conn:
            row = conn.execute("SELECT pg_database_size(%s)", [self.own(name)]).fetchone()
        return round(int(row[0] if row else 0) / 2**20, 1)

    def version(self) -> str:
        with self._admin() as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else ""


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env, check=True
    )


@contextmanager
def database(server: Server, name: str, template: str | None = None) -> Iterator[str]:
    url = server.create(name, template)
    try:
        yield url
    finally:
        server.drop(name)
