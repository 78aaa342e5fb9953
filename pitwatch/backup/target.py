"""The database a backup is taken of, read from its URL: SQLite (a file) or PostgreSQL (a
server, a database and, when the URL's ``options`` set a search_path, the schemas).

libpq tools get the connection through the environment (PGHOST, PGPASSWORD, …), never
argv: a password in argv is visible to every user of the machine (``ps``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy.engine import URL, make_url

from ground.dburl import is_sqlite, normalise_url

# URL query parameters that libpq also reads from the environment.
LIBPQ_ENV = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "host": "PGHOST",
    "port": "PGPORT",
}
# An unreachable server fails the tools in this long, not the TCP default of minutes.
CONNECT_TIMEOUT_SECONDS = "10"
_SEARCH_PATH = re.compile(r"-c\s*search_path\s*=\s*([^\s]+)")
_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Target:
    """Where the platform's data is: a SQLite file, or a PostgreSQL database (and schemas)."""

    url: URL

    @classmethod
    def of(cls, database_url: str) -> Target:
        return cls(make_url(normalise_url(database_url)))

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url.drivername)

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url.database or "")

    @property
    def schemas(self) -> tuple[str, ...]:
        """The schemas a search_path in the URL names (``options=-csearch_path=s``): only
        those are dumped; none named, the whole database."""
        options = self.url.query.get("options")
        text = options if isinstance(options, str) else " ".join(options or ())
        match = _SEARCH_PATH.search(unquote(text))
        if not match:
            return ()
        names = [s.strip().strip('"') for s in match.group(1).split(",")]
        return tuple(s for s in names if s and s not in ("public", "$user"))

    @property
    def name(self) -> str:
        """The database's name for file names: ``<db>`` or ``<db>.<schema>``."""
        base = self.sqlite_path.stem if self.is_sqlite else (self.url.database or "postgres")
        name = ".".join((base, *self.schemas))
        return _NAME.sub("_", name) or "db"

    @property
    def source(self) -> str:
        """The record's ``source``: the URL without its password."""
        if self.is_sqlite:
            return f"sqlite:{self.sqlite_path.resolve()}"
        u = self.url
        schemas = f"?schemas={','.join(self.schemas)}" if self.schemas else ""
        return (
            f"postgresql://{u.username or ''}@{u.host or ''}:{u.port or 5432}/{u.database}{schemas}"
        )

    def libpq_env(self, database: str | None = None) -> dict[str, str]:
        """The environment for pg_dump/pg_restore/psql: this server, ``database`` (default:
        the URL's) and the password; the caller's environment otherwise."""
        u = self.url
        env = dict(os.environ)
        env.setdefault("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECONDS)
        for key, var in (
            ("PGHOST", u.host),
            ("PGPORT", str(u.port) if u.port else None),
            ("PGUSER", u.username),
            ("PGPASSWORD", u.password),
            ("PGDATABASE", database or u.database),
        ):
            if var:  # unset: the caller's environment (or ~/.pgpass) says
                env[key] = str(var)
        for param, var in LIBPQ_ENV.items():
            value = u.query.get(param)
            if isinstance(value, str):
                env[var] = value
        # The dump names the schemas itself; a search_path in PGOPTIONS would not matter,
        # but other options (statement_timeout…) would: they are not the tools'.
        env.pop("PGOPTIONS", None)
        return env

    def with_database(self, database: str) -> Target:
        """The same server, another database (the scratch database of a restore test)."""
        return Target(self.url.set(database=database))

    def sqlalchemy_url(self) -> str:
        return self.url.render_as_string(hide_password=False)
