"""The history file: SQLite with a versioned schema, safe under concurrent and killed writers.

``PRAGMA user_version`` is the schema version; ``MIGRATIONS[i]`` brings a file
from version i to i + 1, each in its own transaction, so an old file is
upgraded when it is opened and a newer one is refused.  WAL journaling lets a
reader run beside a writer; every write is one ``BEGIN IMMEDIATE`` transaction
and a busy file is waited for (``busy_timeout``), so two runs finishing at once
both land and a writer killed mid-transaction leaves no trace.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from hil.errors import ConfigError

BUSY_TIMEOUT_S = 60.0
HISTORY_FILE = "history.sqlite"

MIGRATIONS: list[str] = [
    # 0 -> 1: one row per run (or per failed attempt with no report).
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL UNIQUE,
        created TEXT, recorded TEXT NOT NULL,
        hil_version TEXT, git_commit TEXT,
        board TEXT NOT NULL, engine TEXT, kernels TEXT, model_name TEXT,
        model_sha256 TEXT, firmware_sha256 TEXT, tflm_commit TEXT,
        dataset_fingerprint TEXT, split TEXT, windows INTEGER,
        series TEXT, run_dir TEXT,
        exit_status INTEGER NOT NULL, passed INTEGER,
        infra_error TEXT, retries INTEGER NOT NULL DEFAULT 0,
        baseline_run_id TEXT,
        pinned INTEGER NOT NULL DEFAULT 0,
        numbers TEXT NOT NULL DEFAULT '{}',
        gates TEXT NOT NULL DEFAULT '[]',
        report TEXT
    );
    CREATE INDEX runs_series ON runs (series, id);
    CREATE INDEX runs_board_engine ON runs (board, engine, id);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)

COLUMNS = ("run_id", "created", "recorded", "hil_version", "git_commit", "board", "engine", "kernels", "model_name",
           "model_sha256", "firmware_sha256", "tflm_commit", "dataset_fingerprint", "split", "windows", "series",
           "run_dir", "exit_status", "passed", "infra_error", "retries", "baseline_run_id", "numbers", "gates",
           "report")
JSON_COLUMNS = ("numbers", "gates", "report")


def default_path() -> Path:
    """``$HIL_HISTORY``, else history.sqlite beside the runs folder (``$HIL_RUNS``, default ./runs)."""
    env = os.environ.get("HIL_HISTORY")
    if env:
        return Path(env)
    runs = Path(os.environ.get("HIL_RUNS", "runs"))
    return runs.resolve().parent / HISTORY_FILE


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise ConfigError(f"{path}: history schema version {version} is newer than this hil reads "
                          f"({SCHEMA_VERSION}); upgrade hil or pass another --history")
    for target in range(version + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            if conn.execute("PRAGMA user_version").fetchone()[0] >= target:
                conn.execute("ROLLBACK")
                continue
            for stmt in filter(str.strip, MIGRATIONS[target - 1].split(";")):
                conn.execute(stmt)
            conn.execute(f"PRAGMA user_version = {target}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


class History:
    """One open history file; rows come back as dicts with their JSON columns decoded."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "History":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def record(self, row: dict[str, Any]) -> None:
        """Inserts a run, or replaces the row of the same run_id (a re-import); a pin is kept."""
        values = {c: row.get(c) for c in COLUMNS}
        for c in JSON_COLUMNS:
            if values[c] is not None and not isinstance(values[c], str):
                values[c] = json.dumps(values[c], sort_keys=True)
        values["numbers"] = values["numbers"] or "{}"
        values["gates"] = values["gates"] or "[]"
        values["retries"] = values["retries"] or 0
        cols = ", ".join(COLUMNS)
        marks = ", ".join(f":{c}" for c in COLUMNS)
        update = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "run_id")
        with self.transaction() as c:
            c.execute(f"INSERT INTO runs ({cols}) VALUES ({marks}) ON CONFLICT(run_id) DO UPDATE SET {update}", values)

    def pin(self, run_id: str) -> dict[str, Any]:
        """Makes ``run_id`` the baseline of its series (the series' other pins are dropped)."""
        with self.transaction() as c:
            row = c.execute("SELECT series, report FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise ConfigError(f"{self.path}: no run {run_id!r} in the history (see `hil history`)")
            if row["report"] is None:
                raise ConfigError(f"run {run_id!r} has no report (it failed before scoring): it cannot be a baseline")
            c.execute("UPDATE runs SET pinned = 0 WHERE series = ?", (row["series"],))
            c.execute("UPDATE runs SET pinned = 1 WHERE run_id = ?", (run_id,))
        return self.get(run_id)

    def rows(self, where: str = "1", params: tuple = (), *, last: int | None = None) -> list[dict[str, Any]]:
        """Matching runs, newest first."""
        sql = f"SELECT * FROM runs WHERE {where} ORDER BY id DESC"
        if last is not None:
            sql += f" LIMIT {int(last)}"
        return [_decode(r) for r in self.conn.execute(sql, params)]

    def get(self, run_id: str) -> dict[str, Any] | None:
        found = self.rows("run_id = ?", (run_id,))
        return found[0] if found else None


def _decode(r: sqlite3.Row) -> dict[str, Any]:
    d = dict(r)
    for c in JSON_COLUMNS:
        if d.get(c) is not None:
            d[c] = json.loads(d[c])
    return d


def open_history(path: Path | str | None = None) -> History:
    """Opens (creating or upgrading) the history file; ``None`` is :func:`default_path`."""
    path = Path(path) if path is not None else default_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are ours (BEGIN IMMEDIATE), not the module's.
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        _migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"{path}: not a usable history file ({exc}); pass another --history or $HIL_HISTORY") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot open the history file ({exc})") from None
    return History(conn, path)
