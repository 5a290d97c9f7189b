"""Ranked search over the event index: free text -> FTS5 query (with a small football synonym table) ->
BM25-ranked events, filtered by class, match, source and confidence.

The text is cut into words (stop words dropped); a phrase from ``SYNONYMS`` ("sent off", "booked",
"spot kick") adds its class's words, so a paraphrase finds the class even when the description uses
other words. Words are OR-ed: an event matching more (and rarer) words ranks higher (BM25, the class
column weighted ``EVENT_WEIGHT`` times a description word). Ties: higher confidence, then clip and time.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import asdict, dataclass

from football_assets.core.events import EVENT_CLASSES, UnknownEventClass, check_class
from football_assets.core.search import index
from football_assets.core.search.index import SearchError

EVENT_WEIGHT = 4.0

STOPWORDS = frozenset(
    "a an the of in on at to for from by with and or is are was be been it its this that all any every some "
    "me show find get give moments moment clips clip where when what which who how does do did".split())

#: Paraphrase -> the words of the class it means (lower case; matched as whole-word phrases).
SYNONYMS: dict[str, str] = {
    "sent off": "red card", "sending off": "red card", "send off": "red card", "sends off": "red card",
    "dismissed": "red card", "dismissal": "red card", "ejected": "red card", "ten men": "red card",
    "booked": "yellow card", "booking": "yellow card", "caution": "yellow card", "cautioned": "yellow card",
    "scores": "goal", "scored": "goal", "score": "goal", "finish": "goal", "finishes": "goal", "net": "goal",
    "spot kick": "penalty", "spot": "penalty", "pen": "penalty",
    "save": "shot on target", "saved": "shot on target", "saves": "shot on target",
    "keeper holds": "shot on target", "effort": "shot on target",
    "corner kick": "corner", "flag kick": "corner", "set piece": "corner",
    "tackle": "foul", "challenge": "foul", "free kick": "foul", "brought down": "foul", "fouled": "foul",
    "change": "substitution", "sub": "substitution", "subbed": "substitution", "replaced": "substitution",
    "comes on": "substitution", "brought on": "substitution",
}

_WORD = re.compile(r"[0-9a-z]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class Hit:
    rank: int
    score: float
    source: str
    kind: str
    clip_id: str
    match_id: str
    video: str
    source_video: str
    event: str
    start_s: float
    end_s: float
    source_start_s: float
    source_end_s: float
    description: str
    model_version: str | None
    confidence: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def terms(text: str) -> list[str]:
    """The query's search words: its own (stop words dropped) plus those of matched synonym phrases."""
    low = " ".join(_WORD.findall(text.lower()))
    words = [w for w in low.split() if w not in STOPWORDS]
    for phrase, cls in SYNONYMS.items():
        if re.search(rf"\b{re.escape(phrase)}\b", low):
            words += cls.split()
    return list(dict.fromkeys(words))


def fts_expression(text: str) -> str:
    """The FTS5 MATCH expression (quoted words OR-ed, so no user text is FTS syntax); SearchError when
    the text has no searchable word."""
    if not isinstance(text, str) or not text.strip():
        raise SearchError("empty query: give some words, e.g. 'red card' or 'header from a corner'")
    words = terms(text)
    if not words:
        raise SearchError(f"query {text!r} has no searchable words (only stop words or punctuation); "
                          "try a class name such as 'yellow card' or words from a description")
    return " OR ".join('"' + w.replace('"', '') + '"' for w in words)


def _check_filters(con: sqlite3.Connection, event: str | None, match: str | None, source: str | None,
                   min_confidence: float | None) -> None:
    if con.execute("SELECT 1 FROM events LIMIT 1").fetchone() is None:
        raise SearchError("the event index is empty: materialize the 'event_index' asset after annotations or "
                          "predictions exist, or add a video with `football-events analyze VIDEO --index`")
    if event is not None:
        try:
            check_class(event)
        except UnknownEventClass as exc:
            raise SearchError(f"--event: {exc}") from None
    if source is not None and source not in ("truth", "model"):
        raise SearchError(f"--source {source!r}: expected 'truth' or 'model'")
    if min_confidence is not None and not 0.0 <= min_confidence <= 1.0:
        raise SearchError(f"--min-confidence {min_confidence}: expected a number between 0 and 1")
    if match is not None and con.execute("SELECT 1 FROM events WHERE match_id=? LIMIT 1", (match,)).fetchone() is None:
        known = [m for (m,) in con.execute("SELECT DISTINCT match_id FROM events ORDER BY match_id LIMIT 6")]
        raise SearchError(f"unknown match {match!r}: no indexed event belongs to it; known matches include "
                          f"{', '.join(known)}")


#: Above this many text matches a search does not BM25-rank them all: BM25 in FTS5 first counts every
#: document of every query word, tens of milliseconds for a common word in a million events.
RANK_CAP = 4000
#: In the large-result mode, how many of the newest matching events a query scores (per pass).
LEVEL_CAP = 300

_COLS = ("e.source, e.kind, e.clip_id, e.match_id, e.video, e.source_video, e.event, e.start_s, e.end_s, "
         "e.source_start_s, e.source_end_s, e.description, e.model_version, e.confidence")


def _count(con: sqlite3.Connection, expr: str, cap: int) -> int:
    """Matches of ``expr``, counted up to ``cap + 1`` (cheap: nothing is ranked)."""
    return con.execute("SELECT COUNT(*) FROM (SELECT rowid FROM events_fts WHERE events_fts MATCH ? LIMIT ?)",
                       (expr, cap + 1)).fetchone()[0]


def _quote(words) -> list[str]:
    return ['"' + w.replace('"', '') + '"' for w in words]


def search(con: sqlite3.Connection, text: str, event: str | None = None, match: str | None = None,
           min_confidence: float | None = None, source: str | None = None, limit: int = 10) -> list[Hit]:
    """The ``limit`` best events for ``text``; raises SearchError on an empty index, a query without
    words, an unknown class or match, or a bad filter.

    When the query's words occur in at most ``RANK_CAP`` events of the whole index (any demo-size library,
    any specific query): exact BM25 over the (filtered) matches, ``score`` = -bm25. More (a class name in a
    million-event library, with or without filters): coordination-level ranking
    over a bounded pool, the newest ``LEVEL_CAP`` events with any query word (of the class the query names,
    if it names one; of any class when that pool is not full); ``score`` = the distinct query words in
    the description + ``EVENT_WEIGHT`` if the class name matches; ties: shorter description (BM25's length
    preference), then newest. This keeps a query's cost bounded whatever the library size; an older
    event can be missed when more than ``LEVEL_CAP`` newer ones match as well."""
    fts_expression(text)  # the empty / no-words errors
    words = terms(text)
    _check_filters(con, event, match, source, min_confidence)
    filt = [index.source_tag(source)] if source else []
    filt += [index.event_tag(check_class(event))] if event else []
    filt += [index.match_tag(match)] if match else []
    tag_expr = "".join(f' AND "{t}"' for t in filt)
    where, args = [], []
    for cond, value in (("e.event = ?", check_class(event) if event else None), ("e.match_id = ?", match),
                        ("e.source = ?", source)):
        if value is not None:
            where.append(cond)
            args.append(value)
    if min_confidence is not None:
        where.append("COALESCE(e.confidence, 1.0) >= ?")  # truth counts as certain
        args.append(float(min_confidence))
    cond = f" WHERE {' AND '.join(where)}" if where else ""
    any_expr = f"({' OR '.join(_quote(words))}){tag_expr}"
    try:
        # decided on the words alone: BM25's cost is their document counts in the whole index, whatever the filters
        if _count(con, f"({' OR '.join(_quote(words))})", RANK_CAP) <= RANK_CAP:
            sql = (f"SELECT -bm25(events_fts, {EVENT_WEIGHT}, 1.0, 0.0) AS score, {_COLS} FROM events_fts "
                   f"JOIN events e ON e.id = events_fts.rowid WHERE events_fts MATCH ?{' AND ' if where else ''}"
                   f"{' AND '.join(where)} ORDER BY score DESC, COALESCE(e.confidence, 1.0) DESC, e.clip_id, "
                   "e.start_s LIMIT ?")
            rows = con.execute(sql, [any_expr, *args, int(limit)]).fetchall()
            return [Hit(i + 1, round(r[0], 4), *r[1:]) for i, r in enumerate(rows)]
        return _levels(con, text, words, tag_expr, cond, args, limit)
    except sqlite3.OperationalError as exc:  # defensive: expressions are built from quoted words only
        raise SearchError(f"query {text!r} could not be run on the index: {exc}") from None


def _levels(con, text, words, tag_expr, cond, args, limit) -> list[Hit]:
    """Coordination-level ranking for a query with more than ``RANK_CAP`` matches (see ``search``): a pool
    of the newest ``LEVEL_CAP`` events with any query word (of the query's class, if it names one, and of
    any class), each scored by the query words it contains (FTS5 ``highlight`` marks them)."""
    cls = class_of_query(text)
    prefer = [f' AND "{index.event_tag(cls)}"'] if cls and '"ev' not in tag_expr else []
    pool_sql = ("SELECT rowid, highlight(events_fts, 0, char(1), char(2)), highlight(events_fts, 1, char(1), char(2)) "
                "FROM events_fts WHERE events_fts MATCH ? ORDER BY rowid DESC LIMIT ?")
    body = " OR ".join(_quote(words))
    pool: dict[int, tuple] = {}
    for extra in [*prefer, ""]:
        if prefer and extra == "" and len(pool) >= LEVEL_CAP:
            break  # a full pool of the named class: other classes would rank below it anyway (no class bonus)
        for rowid, ev, desc in con.execute(pool_sql, (f"({body}){tag_expr}{extra}", LEVEL_CAP)):
            if rowid not in pool:
                marked = {m.lower() for m in _MARKED.findall(desc)}
                in_class = bool(_MARKED.search(ev))
                pool[rowid] = (len(marked) + (EVENT_WEIGHT if in_class else 0.0), len(desc), rowid)
    ranked = sorted(pool.values(), key=lambda x: (-x[0], x[1], -x[2]))
    hits: list[Hit] = []
    for i in range(0, len(ranked), 200):  # fetch in rank order until ``limit`` pass the SQL filters
        chunk = ranked[i:i + 200]
        ids = [r[2] for r in chunk]
        rows = {r[0]: r[1:] for r in con.execute(
            f"SELECT e.id, {_COLS} FROM events e WHERE e.id IN ({','.join('?' * len(ids))})"
            + (f" AND {cond[len(' WHERE '):]}" if cond else ""), [*ids, *args])}
        for score, _, rowid in chunk:
            if rowid in rows and len(hits) < limit:
                hits.append(Hit(len(hits) + 1, float(score), *rows[rowid]))
        if len(hits) >= limit:
            break
    return hits


_MARKED = re.compile("\x01(.*?)\x02")


def class_of_query(text: str) -> str | None:
    """The class a query names outright or through a synonym (None if none or several): for reports."""
    words = set(terms(text))
    found = [c for c in EVENT_CLASSES if set(c.lower().split()) <= words]
    return found[0] if len(found) == 1 else None
