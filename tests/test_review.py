"""``football-events review``: the page in real headless Chromium, media with range requests, the data-directory
fence, uploads and background ``analyze`` jobs, errors for corrupt analyses, search and highlight reels.

Real components: the review command as a subprocess (uvicorn) over ``review_root`` (real demo clips, a spotter
trained by the real trainer, its real analysis of a joined 'match'), real ffprobe/ffmpeg, real Chromium.
"""

import http.client
import json
import time
from pathlib import Path

import pytest

from football_assets.core.ingest.video import probe
from tests.fixtures_label_studio import Browser
from tests.fixtures_review import MAX_UPLOAD_MB, match_analysis

ARTIFACTS = Path(__file__).parent / "artifacts"


def _raw_get(server, raw_path: str) -> tuple[int, bytes]:
    """GET with the path sent byte for byte (no client-side normalisation of '..' or percent escapes)."""
    con = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        con.putrequest("GET", raw_path, skip_accept_encoding=True)
        con.endheaders()
        r = con.getresponse()
        return r.status, r.read()
    finally:
        con.close()


def _wait_jobs(server, ids: set[int], timeout: float = 300) -> dict[int, dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = {j["id"]: j for j in server.get("/api/jobs").json()["jobs"] if j["id"] in ids}
        if all(jobs[i]["state"] in ("done", "failed") for i in ids):
            return jobs
        time.sleep(0.5)
    raise AssertionError(f"jobs {ids} not finished in {timeout} s: {server.get('/api/jobs').json()}")


def test_binds_localhost_only(review_server):
    """The listening socket is 127.0.0.1:port (from the kernel's table), not 0.0.0.0."""
    rows = [ln.split() for ln in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    listening = [r[1] for r in rows if r[3] == "0A" and int(r[1].split(":")[1], 16) == review_server.port]
    assert listening == [f"0100007F:{review_server.port:04X}"], listening
    from football_assets.cli.review import build_parser

    assert build_parser().parse_args([]).host == "127.0.0.1"


def test_review_command_refuses_a_missing_data_directory(tmp_path, capsys):
    from football_assets import cli

    assert cli.main(["review", "--data-dir", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.strip() == f"error: data directory {tmp_path / 'nope'} does not exist"


def test_media_range_requests_return_the_asked_bytes(review_server):
    video = review_server.root / "videos" / "match.mp4"
    data = video.read_bytes()
    r = review_server.get("/media/videos/match.mp4", headers={"Range": "bytes=100-1099"})
    assert r.status_code == 206 and r.content == data[100:1100]
    assert r.headers["content-range"] == f"bytes 100-1099/{len(data)}" and r.headers["accept-ranges"] == "bytes"
    tail = review_server.get("/media/videos/match.mp4", headers={"Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.content == data[-500:]
    whole = review_server.get("/media/videos/match.mp4")
    assert whole.status_code == 200 and whole.content == data


@pytest.mark.parametrize("raw", ["/media/../../etc/passwd", "/media/%2e%2e/%2e%2e/etc/passwd",
                                 "/media/..%2f..%2f..%2fetc%2fpasswd", "/media/%252e%252e/%252e%252e/etc/passwd",
                                 "/media//etc/passwd", "/media/videos/../../../../etc/passwd",
                                 "/media/%2fetc%2fpasswd", "/media/videos/%00.mp4", "/media/videos/escape.mp4",
                                 "/media/index/events.sqlite"])
def test_paths_leaving_the_data_directory_are_404(review_server, raw):
    link = review_server.root / "videos" / "escape.mp4"  # a symlink inside that points outside
    if not link.is_symlink():
        link.symlink_to("/etc/passwd")
    status, body = _raw_get(review_server, raw)
    assert status == 404 and b"root:" not in body, (raw, status, body[:200])


def test_corrupt_and_missing_analyses_are_clear_errors_and_the_server_goes_on(review_server):
    bad = review_server.root / "analyses" / "broken-00000000.json"
    bad.write_text("{not json")
    odd = review_server.root / "analyses" / "odd-00000000.json"
    odd.write_text('{"video": "v.mp4", "events": [{"event": "Goal"}]}')
    try:
        assert review_server.get("/api/items/analysis:odd-00000000").json()["error"].endswith(
            "odd-00000000.json is corrupt: an event lacks 'start_time'")
        items = {i["id"]: i for i in review_server.get("/api/items").json()["items"]}
        assert "not valid JSON" in items["analysis:broken-00000000"]["error"]
        assert "not valid JSON" in items["file:0"]["error"] and "does not exist" in items["file:1"]["error"]
        r = review_server.get("/api/items/analysis:broken-00000000")
        assert r.status_code == 422 and "broken-00000000.json is not valid JSON" in r.json()["error"]
        assert review_server.get("/api/items/file:1").json()["error"].endswith("missing.json does not exist")
        assert review_server.get("/api/items/analysis:nope").status_code == 404
        log = review_server.log.read_text()
        assert "broken-00000000.json is not valid JSON" in log and "missing.json does not exist" in log
        match_id, _ = match_analysis(review_server.root)
        assert review_server.get(f"/api/items/{match_id}").status_code == 200  # still serving
    finally:
        bad.unlink()
        odd.unlink()


def test_clip_items_have_truth_predictions_and_label_studio_links(review_server):
    items = review_server.get("/api/items").json()["items"]
    clips = [i for i in items if i["kind"] == "clip"]
    assert len(clips) == 8 and sum(i["n_model"] > 0 for i in clips) >= 1
    both = next(i for i in clips if i["n_truth"] and i["n_model"]) if any(
        i["n_truth"] and i["n_model"] for i in clips) else next(i for i in clips if i["n_truth"])
    item = review_server.get(f"/api/items/{both['id']}").json()
    assert item["video_url"].startswith("/media/clips_4fps/") and item["truth"]
    assert item["task_url"] == f"http://127.0.0.1:8080/projects/7/data?task={item['task_id']}"
    assert review_server.get(item["video_url"], headers={"Range": "bytes=0-9"}).status_code == 206


def test_search_runs_the_ranked_search_and_opens_at_the_moment(review_server):
    from football_assets.core.layout import DataLayout
    from football_assets.core.search import index, query

    con = index.connect(DataLayout(review_server.root).index_file, create=False)
    try:
        want = [h.to_dict() for h in query.search(con, "penalty", limit=20)]
    finally:
        con.close()
    hits = review_server.get("/api/search", params={"q": "penalty", "limit": 20}).json()["hits"]
    assert want and [(h["clip_id"], h["event"], h["start_s"], h["score"]) for h in hits] == \
        [(h["clip_id"], h["event"], h["start_s"], h["score"]) for h in want]
    assert all(h["item"] for h in hits)  # every result opens an item on the page
    r = review_server.get("/api/search", params={"q": "the of"})
    assert r.status_code == 400 and "no searchable words" in r.json()["error"]


def test_page_timeline_click_keys_search_and_screenshot(review_server, tmp_path):
    match_id, analysis = match_analysis(review_server.root)
    events = sorted(analysis["events"], key=lambda e: e["start_time"])
    assert len(events) >= 2, "the fixture's spotter found fewer than two events in the match"
    b = Browser(tmp_path / "profile", width=1500, height=1000)
    try:
        b.goto(f"{review_server.url}/#item={match_id}")
        assert b.wait_for("document.querySelectorAll('.marker').length > 0 && "
                          "document.getElementById('player').readyState >= 1", timeout=60)
        assert b.eval("document.querySelectorAll('.marker.model').length") == len(events)
        assert b.eval("document.querySelectorAll('.marker').length") == len(events)
        opacities = b.eval("[...document.querySelectorAll('.marker.model')].sort((a, b) => a.dataset.start - b.dataset.start)"
                           ".map(m => Number(getComputedStyle(m).opacity))")
        assert opacities == pytest.approx([max(0.15, e["confidence"]) for e in events], abs=1e-3)  # confidence as opacity
        assert b.eval("getComputedStyle(document.querySelector('.marker.model')).backgroundColor") != "rgba(0, 0, 0, 0)"
        # a real mouse click on the marker of the last event
        target = events[-1]
        box = b.eval(f"(() => {{ const m = [...document.querySelectorAll('.marker')].find(m => "
                     f"Math.abs(Number(m.dataset.start) - {target['start_time']}) < 1e-6); "
                     "const r = m.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            b.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)
        assert b.wait_for(f"Math.abs(document.getElementById('player').currentTime - {target['start_time']}) < 0.5",
                          timeout=20), b.eval("document.getElementById('player').currentTime")
        # the previous-event key goes to the event before it
        b.send("Input.dispatchKeyEvent", type="rawKeyDown", key="ArrowLeft", code="ArrowLeft", windowsVirtualKeyCode=37)
        assert b.wait_for(f"Math.abs(document.getElementById('player').currentTime - {events[-2]['start_time']}) < 0.5",
                          timeout=20)
        # the confidence filter hides the less confident markers
        cut = sorted(e["confidence"] for e in events)[len(events) // 2]
        b.eval(f"(() => {{ const s = document.getElementById('min-conf'); s.value = {cut}; "
               "s.dispatchEvent(new Event('input')); })()")
        assert b.eval("document.querySelectorAll('.marker').length") == sum(
            e["confidence"] >= round(cut / 0.05) * 0.05 - 1e-9 for e in events)
        # the search box: its first result opens its item at its moment
        b.eval("document.getElementById('search').value = 'penalty'; "
               "document.getElementById('search-form').requestSubmit()")
        assert b.wait_for("document.querySelectorAll('#search-results .hit').length > 0", timeout=20)
        first = review_server.get("/api/search", params={"q": "penalty", "limit": 20}).json()["hits"][0]
        b.eval("document.querySelector('#search-results .hit').click()")
        assert b.wait_for(f"decodeURIComponent(location.hash).includes({json.dumps(first['item'])}) && "
                          f"Math.abs(document.getElementById('player').currentTime - {first['start_s']}) < 0.5",
                          timeout=30)
        # the screenshot: a clip with truth and model lanes, or the match
        items = review_server.get("/api/items").json()["items"]
        shown = next((i["id"] for i in items if i["kind"] == "clip" and i["n_truth"] and i["n_model"]), match_id)
        b.eval("(() => { const s = document.getElementById('min-conf'); s.value = 0; "
               "s.dispatchEvent(new Event('input')); })()")
        b.goto(f"{review_server.url}/#item={shown}&t=2")
        assert b.wait_for("document.getElementById('title').textContent.length > 0 && "
                          "document.getElementById('player').readyState >= 2", timeout=60)
        time.sleep(1)
        b.screenshot(ARTIFACTS / "review_page.png")
    finally:
        b.close()


def test_upload_rejects_non_video_and_oversize_keeping_nothing(review_server):
    incoming = review_server.root / "incoming"
    before = sorted(p.name for p in incoming.iterdir()) if incoming.exists() else []
    r = review_server.post("/api/upload", files={"file": ("notes.mp4", b"these are not frames\n" * 50, "video/mp4")})
    assert r.status_code == 400 and r.json()["error"].startswith("upload refused: notes.mp4 is not a video ffprobe can read")
    r = review_server.post("/api/upload", files={"file": ("clip.mp4", b"x" * 100, "video/mp4")}, data={"mode": "fast"})
    assert r.status_code == 400 and r.json()["error"] == "mode 'fast': expected one of cascade, vlm, spotter"
    big = b"\0" * ((MAX_UPLOAD_MB << 20) + (200 << 10))
    r = review_server.post("/api/upload", files={"file": ("big.mp4", big, "video/mp4")})
    assert r.status_code == 413 and "limit" in r.json()["error"]
    assert sorted(p.name for p in incoming.iterdir()) == before  # no file, no temp file left behind
    assert review_server.get("/api/jobs").json()["jobs"] == []


def test_background_jobs_run_analyze_one_at_a_time_and_enter_the_index(review_server):
    """An upload and a pick from incoming/ run real `analyze --mode spotter` jobs; the second waits in line."""
    match = (review_server.root / "videos" / "match.mp4").read_bytes()
    assert len(match) < MAX_UPLOAD_MB << 20
    r = review_server.post("/api/upload", files={"file": ("my match.mp4", match, "video/mp4")}, data={"mode": "spotter"})
    assert r.status_code == 201, r.text
    first, rel = r.json()["job"], r.json()["path"]
    assert rel == "incoming/my_match.mp4" and (review_server.root / rel).read_bytes() == match
    (review_server.root / "incoming" / "second.mp4").write_bytes(match)
    r = review_server.post("/api/jobs", json={"path": "incoming/second.mp4", "mode": "spotter"})
    assert r.status_code == 201, r.text
    second = r.json()["job"]
    assert second["state"] == "queued" and second["behind"] == 1 and "1 ahead" in second["stage"]
    assert review_server.post("/api/jobs", json={"path": "../videos/match.mp4"}).status_code == 404
    jobs = _wait_jobs(review_server, {first["id"], second["id"]})
    a, b = jobs[first["id"]], jobs[second["id"]]
    assert a["state"] == b["state"] == "done", (a, b)
    assert b["started_at"] >= a["finished_at"]  # one at a time, in order
    _, kept = match_analysis(review_server.root)
    for job in (a, b):
        item = review_server.get(f"/api/items/{job['item']}").json()
        assert item["video_url"] == f"/media/incoming/{Path(job['video']).name}"
        assert [(e["event"], e["start_time"]) for e in item["model"]] == \
            [(e["event"], e["start_time"]) for e in sorted(kept["events"], key=lambda e: e["start_time"])]
        assert job["n_events"] == len(kept["events"])
    hits = review_server.get("/api/search", params={"q": kept["events"][0]["event"], "limit": 100}).json()["hits"]
    assert {h["item"] for h in hits} >= {a["item"], b["item"]}  # in the event index


def test_highlight_button_endpoint_builds_the_reel_of_the_filter(review_server):
    match_id, analysis = match_analysis(review_server.root)
    cls = analysis["events"][0]["event"]
    r = review_server.post("/api/highlights", json={"item": match_id, "classes": [cls], "min_confidence": 0.0,
                                                    "margin": 1.0})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["events"] == sum(e["event"] == cls for e in analysis["events"])
    reel = review_server.root / out["url"].removeprefix("/media/")
    assert abs(probe(reel).duration - out["duration_s"]) <= 0.25 + 1e-6
    r = review_server.post("/api/highlights", json={"item": match_id, "classes": ["Handball"]})
    assert r.status_code == 400 and "unknown event class 'Handball'" in r.json()["error"]


def test_page_analyses_a_video_from_incoming_and_opens_the_result(review_server, tmp_path):
    """The page's Analyse button on a file in incoming/ queues a real job, shows it, and opens the result."""
    _, kept = match_analysis(review_server.root)
    (review_server.root / "incoming").mkdir(exist_ok=True)
    (review_server.root / "incoming" / "from-page.mp4").write_bytes((review_server.root / "videos" / "match.mp4").read_bytes())
    b = Browser(tmp_path / "profile", width=1500, height=1000)
    try:
        b.goto(f"{review_server.url}/")
        assert b.wait_for("[...document.querySelectorAll('#incoming .inc')].some(d => d.textContent.includes('from-page.mp4'))",
                          timeout=30)
        b.eval("document.getElementById('upload-mode').value = 'spotter'; [...document.querySelectorAll('#incoming .inc')]"
               ".find(d => d.textContent.includes('from-page.mp4')).querySelector('button').click()")
        assert b.wait_for("document.querySelectorAll('#jobs .job').length > 0", timeout=20)
        assert b.wait_for("decodeURIComponent(location.hash).includes('item=analysis:from-page-') && "
                          f"document.querySelectorAll('.marker.model').length === {len(kept['events'])}", timeout=240), \
            b.eval("document.getElementById('jobs').textContent")
        assert "from-page.mp4" in b.eval("document.getElementById('title').textContent")
        assert "done" in b.eval("document.getElementById('jobs').textContent")
    finally:
        b.close()


def test_a_failing_job_shows_its_error_and_the_queue_goes_on(review_server):
    """--mode vlm without a trained adapter (the fixture has none): the job fails naming the cause."""
    (review_server.root / "incoming").mkdir(exist_ok=True)
    (review_server.root / "incoming" / "vlm.mp4").write_bytes((review_server.root / "videos" / "match.mp4").read_bytes())
    r = review_server.post("/api/jobs", json={"path": "incoming/vlm.mp4", "mode": "vlm"})
    assert r.status_code == 201, r.text
    job = _wait_jobs(review_server, {r.json()["job"]["id"]})[r.json()["job"]["id"]]
    assert job["state"] == "failed" and "lora_adapter" in job["error"], job
    assert "failed" in review_server.log.read_text() and review_server.get("/api/items").status_code == 200
    assert review_server.post("/api/jobs", json={"path": "incoming/vlm.mp4", "mode": "fast"}).status_code == 400


def test_a_video_outside_the_data_directory_is_listed_but_not_served(review_root, tmp_path):
    from starlette.testclient import TestClient

    from football_assets.review.app import ReviewConfig, create_app

    _, kept = match_analysis(review_root)
    outside = tmp_path / "elsewhere.mp4"
    outside.write_bytes(Path(kept["video"]).read_bytes())
    extra = tmp_path / "elsewhere.json"
    extra.write_text(json.dumps({**kept, "video": str(outside)}))
    with TestClient(create_app(ReviewConfig(review_root, (str(extra),)))) as client:
        item = client.get("/api/items/file:0").json()
        assert item["video_url"] is None and "lies outside the data directory" in item["video_error"]
        assert len(item["model"]) == len(kept["events"])
        assert client.get(f"/media/{outside}").status_code == 404
