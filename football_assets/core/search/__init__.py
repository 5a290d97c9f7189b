"""The event index over the match library and search in it (issue 15): ``index`` (SQLite + FTS5 schema and
incremental sync), ``library`` (annotations, predictions, analyses -> rows), ``query`` (ranked search),
``export`` (mp4 cuts and a contact sheet)."""
