"""Project rules that keep the code usable outside Dagster and the layout walkable: the core never imports
Dagster, nothing imports a command-line module, no import cycle of any length (between modules or packages), resources are
configuration only, and the code location's wiring matches ``tests/snapshots/definitions.txt``."""

import ast
import os
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "football_assets" / "core"
SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.txt"


def _imports(path: Path) -> list[str]:
    """Absolute module names a file imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return out


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> list[Path]:
    return [p for top in ("football_assets", "resources", "deploy") for p in (ROOT / top).rglob("*.py")]


def _package(module: str) -> str:
    """The unit the no-cycles rule speaks of: ``football_assets.<core|defs>.<stage>``, else two levels."""
    parts = module.split(".")
    if parts[0] == "football_assets" and len(parts) > 2 and parts[1] in ("core", "defs"):
        return ".".join(parts[:3])
    return ".".join(parts[:2]) if parts[0] == "football_assets" else parts[0]


def test_core_never_imports_dagster():
    offenders = []
    for path in CORE.rglob("*.py"):
        offenders += [f"{path.relative_to(CORE)}: {n}" for n in _imports(path)
                      if n == "dagster" or n.startswith("dagster.") or n.startswith("dagster_") and not n.startswith("dagster_pipes")]
    assert offenders == []


def test_no_module_imports_a_command_line_module():
    offenders = [f"{_module(p)} imports {n}" for p in _sources() if not _module(p).startswith("football_assets.cli")
                 for n in _imports(p) if n.startswith("football_assets.cli")]
    assert offenders == []


def test_resources_are_configuration_only():
    offenders = [f"{_module(p)} imports {n}" for p in (ROOT / "resources").rglob("*.py")
                 for n in _imports(p) if n.split(".")[0] == "football_assets"]
    assert offenders == []


def _import_graph(unit) -> dict[str, set[str]]:
    """``{unit: units it imports}`` over the project's own modules (lazy imports inside functions count too);
    ``unit(module)`` maps a module name to the node (the module itself, or its package)."""
    modules = {_module(p) for p in _sources()}
    edges: dict[str, set[str]] = defaultdict(set)
    for path in _sources():
        src = unit(_module(path))
        for name in _imports(path):
            # `from a.b import c` names a.b.c: the module when there is one, else the package a.b
            target = name if name in modules else name.rsplit(".", 1)[0] if name.rsplit(".", 1)[0] in modules else None
            if target is not None and unit(target) != src:
                edges[src].add(unit(target))
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan): every import cycle, of any length."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(set(edges) | {w for ws in edges.values() for w in ws}):
        if v not in index:
            visit(v)
    return sorted(out)


def test_cycle_finder_finds_long_cycles():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}}) == []


def test_no_import_cycle_between_modules():
    assert cycles(_import_graph(lambda m: m)) == []


def test_no_import_cycle_between_packages():
    assert cycles(_import_graph(_package)) == []


def describe_definitions() -> str:
    """One line per asset, check, job, schedule, sensor and resource: what a wiring review looks at."""
    from football_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    lines = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        parts = node.partitions_def.__class__.__name__ if node.partitions_def else "-"
        deps = ",".join(sorted(d.to_user_string() for d in node.parent_keys))
        lines.append(f"asset {key.to_user_string()} group={node.group_name} partitions={parts} pool={node.pools or '-'} "
                     f"deps=[{deps}]")
    for check in sorted(graph.asset_check_keys, key=lambda c: (c.asset_key.to_user_string(), c.name)):
        spec = graph.get_check_spec(check)
        lines.append(f"check {check.asset_key.to_user_string()}:{check.name} blocking={spec.blocking}")
    repo = defs.get_repository_def()
    for job in sorted(repo.get_all_jobs(), key=lambda j: j.name):
        if not job.name.startswith("__"):
            lines.append(f"job {job.name}")
    for s in sorted(repo.schedule_defs, key=lambda s: s.name):
        lines.append(f"schedule {s.name} job={s.job_name} cron={s.cron_schedule!r}")
    for s in sorted(repo.sensor_defs, key=lambda s: s.name):
        lines.append(f"sensor {s.name} jobs={','.join(sorted(j.name for j in s.jobs)) if s.has_jobs else '-'}")
    lines += [f"resource {k}" for k in sorted(repo.get_top_level_resources())]
    return "\n".join(lines) + "\n"


def test_definitions_match_the_reviewed_snapshot(monkeypatch):
    """A wiring change shows up in review as a diff of tests/snapshots/definitions.txt
    (regenerate with ``UPDATE_SNAPSHOTS=1 pytest tests/test_layout_rules.py``)."""
    monkeypatch.delenv("FOOTBALL_RETRAIN_CRON", raising=False)
    got = describe_definitions()
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(got)
    assert got == SNAPSHOT.read_text(), "definitions changed: review, then regenerate the snapshot (see docstring)"


def test_definitions_load_with_ingest_assets():
    from football_assets.definitions import defs

    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"raw_clips", "clips_4fps"} <= keys
    assert defs.resolve_job_def("ingest_job") is not None


def test_only_resources_read_the_environment():
    """Settings come from the environment in one place (``resources/environment.py``); the rest takes values."""
    offenders = [f"{p.relative_to(ROOT)}:{i}" for p in (ROOT / "football_assets").rglob("*.py")
                 for i, line in enumerate(p.read_text().splitlines(), 1)
                 if ("os.environ" in line or "os.getenv" in line) and not line.lstrip().startswith("#")]
    assert offenders == []


def test_readme_asset_diagram_matches_the_definitions():
    """The README's asset diagram (a mermaid block) has exactly the code location's assets and dependency edges,
    as ``tests/snapshots/definitions.txt`` records them: a wiring change shows up as a stale picture here."""
    import re

    edges, assets = set(), set()
    for line in SNAPSHOT.read_text().splitlines():
        if m := re.match(r"asset (\S+) .*deps=\[(.*)\]$", line):
            assets.add(m[1])
            edges |= {(dep, m[1]) for dep in m[2].split(",") if dep}
    block = re.search(r"```mermaid\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block, "README.md has no mermaid asset diagram"
    drawn = {(a, b) for a, b in re.findall(r"^\s*(\w+)(?:\[[^\]]*\])?\s*-->\s*(\w+)", block[1], re.M)}
    nodes = {n for e in drawn for n in e}
    assert drawn == edges, f"missing: {sorted(edges - drawn)}; not in the code: {sorted(drawn - edges)}"
    assert nodes == assets
