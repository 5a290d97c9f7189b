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


#: Above this many text matches a search does not rank them all (BM25 costs a few microseconds per match).
RANK_CAP = 4000

_SELECT = ("SELECT c.r, e.source, e.kind, e.clip_id, e.match_id, e.video, e.source_video, e.event, e.start_s, "
           "e.end_s, e.source_start_s, e.source_end_s, e.description, e.model_version, e.confidence "
           "FROM (SELECT rowid AS id, bm25(events_fts, {w}, 1.0, 0.0) AS r FROM events_fts "
           "WHERE events_fts MATCH ? ORDER BY rowid DESC LIMIT ?) c JOIN events e ON e.id = c.id")


def _count(con: sqlite3.Connection, expr: str, cap: int) -> int:
    """Matches of ``expr``, counted up to ``cap + 1`` (cheap: nothing is ranked)."""
    return con.execute("SELECT COUNT(*) FROM (SELECT rowid FROM events_fts WHERE events_fts MATCH ? LIMIT ?)",
                       (expr, cap + 1)).fetchone()[0]


def search(con: sqlite3.Connection, text: str, event: str | None = None, match: str | None = None,
           min_confidence: float | None = None, source: str | None = None, limit: int = 10) -> list[Hit]:
    """The ``limit`` best events for ``text``; raises SearchError on an empty index, a query without
    words, an unknown class or match, or a bad filter.

    Ranking is exact BM25 over every match when there are at most ``RANK_CAP`` of them (any demo-size
    library). Above that (a class name in a million-event library) the events containing *all* the
    query's words are ranked first, and when even those are more than ``RANK_CAP``, the newest
    ``RANK_CAP`` of them: equally relevant events then come newest first. This bounds a query's cost."""
    words = fts_expression(text)
    _check_filters(con, event, match, source, min_confidence)
    filt = [index.source_tag(source)] if source else []
    filt += [index.event_tag(check_class(event))] if event else []
    filt += [index.match_tag(match)] if match else []
    tag_expr = "".join(f' AND tags : "{t}"' for t in filt)
    any_word = f"{{event description}} : ({words}){tag_expr}"
    all_words = f"{{event description}} : ({words.replace(' OR ', ' AND ')}){tag_expr}"
    where, args = [], []
    if event is not None:
        where.append("e.event = ?")
        args.append(check_class(event))
    if match is not None:
        where.append("e.match_id = ?")
        args.append(match)
    if source is not None:
        where.append("e.source = ?")
        args.append(source)
    if min_confidence is not None:
        where.append("COALESCE(e.confidence, 1.0) >= ?")  # truth counts as certain
        args.append(float(min_confidence))
    sql = (_SELECT.format(w=EVENT_WEIGHT) + (f" WHERE {' AND '.join(where)}" if where else "")
           + " ORDER BY c.r, COALESCE(e.confidence, 1.0) DESC, e.clip_id, e.start_s LIMIT ?")
    # the candidate cap is the rank cap, except for a confidence filter (applied after): fetch more then
    cap = RANK_CAP * (4 if min_confidence is not None else 1)
    tiers = [any_word] if _count(con, any_word, RANK_CAP) <= RANK_CAP or any_word == all_words else [all_words, any_word]
    rows: list = []
    seen: set = set()
    try:
        for expr in tiers:
            for r in con.execute(sql, [expr, cap, *args, int(limit)]).fetchall():
                key = r[1:12]
                if key not in seen and len(rows) < limit:
                    seen.add(key)
                    rows.append(r)
            if len(rows) >= limit:
                break
    except sqlite3.OperationalError as exc:  # defensive: the expression is built from quoted words only
        raise SearchError(f"query {text!r} could not be run on the index: {exc}") from None
    return [Hit(i + 1, round(-r[0], 4), *r[1:]) for i, r in enumerate(rows)]


def class_of_query(text: str) -> str | None:
    """The class a query names outright or through a synonym (None if none or several): for reports."""
    words = set(terms(text))
    found = [c for c in EVENT_CLASSES if set(c.lower().split()) <= words]
    return found[0] if len(found) == 1 else None
