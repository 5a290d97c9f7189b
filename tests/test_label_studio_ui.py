"""A task's labeling page, logged in, in headless Chromium: the clip plays at 4 fps, the event labels and
the annotator's region are there. The screenshot is kept in tests/artifacts/ for a person to look at."""

from pathlib import Path

from dagster import DagsterInstance, materialize

from football_assets.core.annotation.ls_client import LabelStudioClient
from football_assets.core.events import EVENT_CLASSES, Event
from football_assets.defs.annotation.assets import label_studio_tasks
from resources import DataDirResource
from resources.label_studio import LabelStudioResource
from tests.fixtures_label_studio import Browser, label_studio_session
from tests.test_label_studio import _annotate

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
READY = ("(() => { const v = document.querySelector('video');"
         " return !!v && v.readyState >= 2 && document.body.innerText.includes('Substitution'); })()")


def test_labeling_page_renders_video_and_labels(label_studio_data, tmp_path):
    server, layout, clips = label_studio_data
    title = "labeling-ui"
    assert materialize([label_studio_tasks], instance=DagsterInstance.ephemeral(), resources={
        "storage": DataDirResource(root=str(server.data_root)),
        "label_studio": LabelStudioResource(url=server.url, api_key=server.token, project_title=title)}).success
    client = LabelStudioClient(server.url, server.token, title)
    pid = client.ensure_project()
    clip = clips[0]["clip_id"]
    task_id = client.tasks_by_clip(pid)[clip][0]["id"]
    _annotate(client, task_id, [Event("Yellow card", 2.0, 3.5, "booked for dissent")])

    session = label_studio_session(server.url, server.username, server.password)
    browser = Browser(tmp_path / "chromium", width=1400, height=1300)
    try:
        browser.set_cookie("sessionid", session, server.url)
        browser.goto(f"{server.url}/projects/{pid}/data?task={task_id}")
        ready = browser.wait_for(READY, timeout=120)
        # select the region as an annotator would (click it in the Regions list): its description shows
        x, y = browser.eval("(() => { const r = document.querySelector('.lsf-labels-list').getBoundingClientRect();"
                            " return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            browser.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)
        described = browser.wait_for("document.body.innerText.includes('booked for dissent')", timeout=30)
        shot = browser.screenshot(ARTIFACTS / "label_studio_labeling_page.png")
        text = browser.eval("document.body.innerText")
        video = browser.eval("(() => { const v = document.querySelector('video');"
                             " return v && {src: v.currentSrc, duration: v.duration, w: v.videoWidth}; })()")
    finally:
        browser.close()
    assert ready, f"labeling page did not render the video and labels; page text: {text[:500]!r}"
    assert described, "selecting the region did not show its description"
    assert "Start frame" in text and shot.stat().st_size > 10_000
    for name in EVENT_CLASSES:
        assert name in text
    assert f"Clip {clip}" in text and "of 32" in text        # 8 s at the task's 4 fps = 32 frames
    assert "Yellow card" in text.split("Regions", 1)[1]      # the annotator's region is listed
    assert clip in video["src"] and video["w"] == 720 and abs(video["duration"] - 8.0) < 0.5
