"""The event index: every truth and model event of the library in one SQLite file with an FTS5 text index.

Why SQLite + FTS5: it ships with Python, works offline, and an analyst can open the same file with
``sqlite3`` (table ``events``; full text in ``events_fts``). Rows are grouped by **origin**, one input
document: ``annotation:<clip>`` (truth), ``prediction:<clip>`` (the latest predictions), ``analysis:<video>``
(an ``analyze --index`` result). ``inputs`` keeps each origin's content hash, so indexing the same
document again writes nothing and a new clip or a new prediction touches only its own rows: updates are
incremental, never a rebuild. Each origin is replaced in one transaction (readers see old or new rows).
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import Iterable

from football_assets.core.events import check_class

SCHEMA_VERSION = "1"
KINDS = ("annotation", "prediction", "analysis")  # annotation = truth; prediction/analysis = model
SOURCE_OF_KIND = {"annotation": "truth", "prediction": "model", "analysis": "model"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inputs(
    origin TEXT PRIMARY KEY, kind TEXT NOT NULL, digest TEXT NOT NULL, n_rows INTEGER NOT NULL,
    indexed_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS events(
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    kind TEXT NOT NULL,                 -- annotation | prediction | analysis
    source TEXT NOT NULL,               -- truth | model
    clip_id TEXT NOT NULL,
    match_id TEXT NOT NULL,             -- the source match (clips sharing one come from one video)
    video TEXT NOT NULL,                -- the file the clip times refer to
    source_video TEXT NOT NULL,         -- the source match video (location) the source times refer to
    event TEXT NOT NULL,
    start_s REAL NOT NULL, end_s REAL NOT NULL,                -- in the clip
    source_start_s REAL NOT NULL, source_end_s REAL NOT NULL,  -- in the source video
    description TEXT NOT NULL,
    model_version TEXT,                 -- NULL for truth
    confidence REAL,                    -- NULL for truth
    tags TEXT NOT NULL                  -- filter words for the text index (see ``tags``)
);
CREATE INDEX IF NOT EXISTS events_origin ON events(origin);
CREATE INDEX IF NOT EXISTS events_match ON events(match_id);
CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(
    event, description, tags, content='events', content_rowid='id', tokenize='porter unicode61');
CREATE TRIGGER IF NOT EXISTS events_ai AFTER INSERT ON events BEGIN
    INSERT INTO events_fts(rowid, event, description, tags) VALUES (new.id, new.event, new.description, new.tags);
END;
CREATE TRIGGER IF NOT EXISTS events_ad AFTER DELETE ON events BEGIN
    INSERT INTO events_fts(events_fts, rowid, event, description, tags)
        VALUES ('delete', old.id, old.event, old.description, old.tags);
END;
"""

COLUMNS = ("origin", "kind", "source", "clip_id", "match_id", "video", "source_video", "event", "start_s", "end_s",
           "source_start_s", "source_end_s", "description", "model_version", "confidence", "tags")


def source_tag(source: str) -> str:
    return f"src{source}"


def event_tag(event: str) -> str:
    return "ev" + "".join(ch for ch in event.lower() if ch.isalnum())


def match_tag(match_id: str) -> str:
    return "m" + hashlib.sha1(match_id.encode()).hexdigest()[:12]


def tags(source: str, event: str, match_id: str) -> str:
    """Words that let the text index itself apply the source/class/match filters, so a filtered search
    ranks only the filtered events (the SQL filter on the real columns is applied as well)."""
    return f"{source_tag(source)} {event_tag(event)} {match_tag(match_id)}"


class SearchError(RuntimeError):
    """A search or index problem (missing index, bad query, unknown match); the message names it and why."""


@dataclass(frozen=True)
class Row:
    """One indexed event; times in seconds (clip and source video)."""

    clip_id: str
    match_id: str
    video: str
    source_video: str
    event: str
    start_s: float
    end_s: float
    source_start_s: float
    source_end_s: float
    description: str = ""
    model_version: str | None = None
    confidence: float | None = None

    def __post_init__(self) -> None:
        check_class(self.event)


def connect(path: str | Path, create: bool = True) -> sqlite3.Connection:
    """Open (and with ``create`` set up) the index at ``path``; WAL so searches read while it updates."""
    path = Path(path)
    if not create and not path.exists():
        raise SearchError(f"event index {path} does not exist: materialize the 'event_index' asset "
                          "(or run `football-events demo`) first")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = sqlite3.connect(str(path))
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        if create:
            con.executescript(SCHEMA)
            con.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            con.commit()
        version = con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise SearchError(f"event index {path}: not a usable SQLite index ({exc})") from None
    if not version or version[0] != SCHEMA_VERSION:
        raise SearchError(f"event index {path}: schema version {version[0] if version else None!r}, this code "
                          f"reads {SCHEMA_VERSION!r}; delete the file and re-materialize 'event_index'")
    return con


_ROW_FIELDS = attrgetter("clip_id", "match_id", "video", "source_video", "event", "start_s", "end_s", "source_start_s",
                         "source_end_s", "description", "model_version", "confidence")


def digest(rows: Iterable[Row]) -> str:
    """Content hash of an origin's rows, order-independent (the incremental no-op test); a few
    microseconds a row, since the asset's pass hashes every row of the library."""
    items = sorted(repr(_ROW_FIELDS(r)) for r in rows)
    return hashlib.sha256("\n".join([SCHEMA_VERSION, *items]).encode()).hexdigest()


def _insert(con: sqlite3.Connection, origin: str, kind: str, rows: list[Row]) -> None:
    source = SOURCE_OF_KIND[kind]
    con.executemany(
        f"INSERT INTO events({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
        [(origin, kind, source, r.clip_id, r.match_id, r.video, r.source_video, r.event, float(r.start_s),
          float(r.end_s), float(r.source_start_s), float(r.source_end_s), r.description or "", r.model_version,
          None if r.confidence is None else float(r.confidence), tags(source, r.event, r.match_id)) for r in rows])


def sync_origin(con: sqlite3.Connection, origin: str, kind: str, rows: list[Row], commit: bool = True) -> str:
    """Make ``origin``'s rows equal ``rows``: 'unchanged' (same hash: nothing written), 'added' or 'updated'."""
    if kind not in KINDS:
        raise ValueError(f"origin {origin!r}: unknown kind {kind!r}; expected one of {KINDS}")
    h = digest(rows)
    old = con.execute("SELECT digest FROM inputs WHERE origin=?", (origin,)).fetchone()
    if old and old[0] == h:
        return "unchanged"
    with _tx(con, commit):
        if old:
            con.execute("DELETE FROM events WHERE origin=?", (origin,))
        _insert(con, origin, kind, rows)
        con.execute("INSERT OR REPLACE INTO inputs VALUES (?, ?, ?, ?, ?)", (origin, kind, h, len(rows), time.time()))
    return "updated" if old else "added"


def drop_origins(con: sqlite3.Connection, kind: str, keep: set[str], commit: bool = True) -> int:
    """Remove every origin of ``kind`` not in ``keep`` (a clip now annotated loses its old predictions)."""
    gone = [o for (o,) in con.execute("SELECT origin FROM inputs WHERE kind=?", (kind,)) if o not in keep]
    with _tx(con, commit):
        for o in gone:
            con.execute("DELETE FROM events WHERE origin=?", (o,))
            con.execute("DELETE FROM inputs WHERE origin=?", (o,))
    return len(gone)


class _tx:
    """A transaction when ``commit`` (rolled back on error); a no-op inside a caller's transaction."""

    def __init__(self, con: sqlite3.Connection, commit: bool):
        self.con, self.commit = con, commit

    def __enter__(self):
        if self.commit and not self.con.in_transaction:
            self.con.execute("BEGIN")
        return self.con

    def __exit__(self, exc_type, *_):
        if not self.commit:
            return False
        if exc_type is None:
            self.con.commit()
        else:
            self.con.rollback()
        return False


def sync_kind(con: sqlite3.Connection, kind: str, docs: dict[str, list[Row]], drop_missing: bool = True) -> dict:
    """Sync every origin of one kind in one transaction; with ``drop_missing`` origins not in ``docs`` go.
    Returns counts: added, updated, unchanged, removed, rows_written."""
    counts = {"added": 0, "updated": 0, "unchanged": 0, "removed": 0, "rows_written": 0}
    known = dict(con.execute("SELECT origin, digest FROM inputs WHERE kind=?", (kind,)))
    with _tx(con, True):
        for origin, rows in docs.items():
            if known.get(origin) == digest(rows):  # the common case, decided without touching the database
                counts["unchanged"] += 1
                continue
            what = sync_origin(con, origin, kind, rows, commit=False)
            counts[what] += 1
            counts["rows_written"] += 0 if what == "unchanged" else len(rows)
        if drop_missing:
            counts["removed"] = drop_origins(con, kind, set(docs), commit=False)
    return counts


def stats(con: sqlite3.Connection) -> dict:
    """Rows per source and kind, matches and origins (for asset metadata and the CLI's empty-index message)."""
    by = {f"{s}/{k}": n for s, k, n in con.execute("SELECT source, kind, COUNT(*) FROM events GROUP BY source, kind")}
    return {"rows": sum(by.values()), "rows_by_source_kind": by,
            "matches": con.execute("SELECT COUNT(DISTINCT match_id) FROM events").fetchone()[0],
            "origins": con.execute("SELECT COUNT(*) FROM inputs").fetchone()[0], "version": version(con)}


def version(con: sqlite3.Connection) -> str:
    """A hash of every origin's content hash: changes exactly when some indexed input changed."""
    h = hashlib.sha256()
    for origin, d in con.execute("SELECT origin, digest FROM inputs ORDER BY origin"):
        h.update(f"{origin}\0{d}\n".encode())
    return h.hexdigest()[:16]
