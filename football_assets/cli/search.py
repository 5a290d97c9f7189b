"""``football-events search "query"``: find moments across the library in the event index
(``<data>/index/events.sqlite``, the ``event_index`` asset; search in ``core/search/query.py``).

Prints ranked results: score, source (truth/model), class, clip and times in the clip and in the source
match video, confidence, description. ``--export DIR`` cuts each moment (with ``--margin`` seconds either
side) to an mp4 and writes ``contact_sheet.png`` and ``results.json``. ``--index-analysis FILE`` first adds an
``analyze --out`` result to the index (``analyze --index`` does that directly).

An empty or missing index, a query without words, an unknown class or match end with one
``error: ...`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from football_assets.core.ingest.video import VideoError
from football_assets.core.search.index import SearchError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="football-events search", description=__doc__.split("\n\n")[0])
    p.add_argument("query", help='words or a description, e.g. "red card" or "header from a corner"')
    p.add_argument("--event", default=None, help="only this class (e.g. 'Red card')")
    p.add_argument("--match", default=None, help="only this source match (its source_id)")
    p.add_argument("--min-confidence", type=float, default=None, help="only model events at least this confident "
                                                                      "(truth counts as 1.0)")
    p.add_argument("--source", choices=["truth", "model"], default=None, help="annotations or model events only")
    p.add_argument("--limit", type=int, default=10, help="number of results (default 10)")
    p.add_argument("--export", default=None, metavar="DIR", help="cut each result to an mp4 and write a contact sheet")
    p.add_argument("--margin", type=float, default=1.0, help="seconds added before and after each exported moment")
    p.add_argument("--index-analysis", default=None, metavar="FILE",
                   help="add this `analyze --out` JSON to the index first")
    p.add_argument("--match-name", default=None, help="with --index-analysis: the match it belongs to (default: "
                                                      "the video file name)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--data-dir", default="", help="data root (default: FOOTBALL_DATA_DIR or ./data)")
    return p


def _table(hits) -> str:
    lines = [f"{'#':>3} {'score':>7} {'source':6} {'event':14} {'clip s':>11} {'source s':>13} {'conf':>5}  "
             "clip / match / description"]
    for h in hits:
        conf = "" if h.confidence is None else f"{h.confidence:.2f}"
        lines.append(f"{h.rank:>3} {h.score:>7.3f} {h.source:6} {h.event:14} {h.start_s:>5.2f}-{h.end_s:<5.2f} "
                     f"{h.source_start_s:>6.2f}-{h.source_end_s:<6.2f} {conf:>5}  {h.clip_id} / {h.match_id}\n"
                     f"{'':>4}{h.video}\n{'':>4}{h.description}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from football_assets.core.layout import DataLayout
    from football_assets.core.search import index, library, query

    layout = DataLayout.at(args.data_dir)
    if args.index_analysis:
        from pathlib import Path

        from football_assets.core.fsutil import read_json

        try:
            result = read_json(args.index_analysis)
        except json.JSONDecodeError as exc:
            raise SearchError(f"--index-analysis {args.index_analysis}: not valid JSON ({exc.msg})") from None
        if not result or "events" not in result or "video" not in result:
            raise SearchError(f"--index-analysis {args.index_analysis}: missing, or not an `analyze --out` result "
                              "(needs 'video' and 'events')")
        what = library.index_analysis(layout, result, args.match_name)
        print(f"analysis of {Path(result['video']).name}: {what}", file=sys.stderr)
    con = index.connect(layout.index_file, create=False)
    try:
        hits = query.search(con, args.query, event=args.event, match=args.match, min_confidence=args.min_confidence,
                            source=args.source, limit=args.limit)
    finally:
        con.close()
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], indent=2))
    elif hits:
        print(_table(hits))
    else:
        print(f"no results for {args.query!r}", file=sys.stderr)
    if args.export and hits:
        from tqdm import tqdm

        from football_assets.core.search.export import export

        out = export(hits, args.export, args.margin,
                     progress=lambda xs: tqdm(xs, desc="export", unit="moment", file=sys.stderr))
        print(f"{len(out['clips'])} moments -> {args.export} (contact sheet {out['contact_sheet']})", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (SearchError, VideoError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
