"""sources.yaml parsing: keys are stable and safe; mistakes are named."""

import pytest

from football_assets.core.ingest.sources import ManifestError, load_manifest


def write(tmp_path, text):
    p = tmp_path / "sources.yaml"
    p.write_text(text)
    return p


def test_empty_manifest_means_demo(tmp_path):
    sources = load_manifest(write(tmp_path, "sources: []\ndemo: {clips: 5, seed: 2}\n"))
    assert len(sources) == 5 and all(s.kind == "demo" for s in sources)
    assert load_manifest(write(tmp_path, "{}"))[0].kind == "demo"


def test_entries_get_stable_hash_keys(tmp_path):
    text = ("sources:\n  - url: 'https://example.org/watch?v=abc'\n    start: 10\n    end: 20\n    event_hint: Goal\n"
            "  - path: 'videos/../Ünïcode/final ⚽.mp4'\n    license: CC-BY\n")
    a, b = load_manifest(write(tmp_path, text)), load_manifest(write(tmp_path, text))
    assert [s.key for s in a] == [s.key for s in b]
    assert len(a) == 2 and a[0].kind == "url" and a[1].kind == "file"
    for s in a:
        assert s.key.replace("-", "").isalnum() and s.key.isascii() and ".." not in s.key
    assert a[1].location.startswith(str(tmp_path))
    moved = load_manifest(write(tmp_path, text.replace("end: 20", "end: 21")))
    assert moved[0].key != a[0].key and moved[1].key == a[1].key


@pytest.mark.parametrize("text, message", [
    ("sources:\n  - {}\n", "give exactly one of 'url' or 'path'"),
    ("sources:\n  - {url: x, path: y}\n", "give exactly one of 'url' or 'path'"),
    ("sources:\n  - {url: x, start: 5, end: 2}\n", "start 5.0 must be before end 2.0"),
    ("sources:\n  - {url: x, start: soon}\n", "'start' must be a number"),
    ("sources:\n  - {url: x, event_hint: Offside}\n", "unknown event class 'Offside'"),
    ("sources:\n  - {url: x, colour: red}\n", "unknown field(s) ['colour']"),
    ("sources:\n  - {url: x}\n  - {url: x}\n", "duplicate entries"),
    ("sources: [\n", "not valid YAML"),
])
def test_mistakes_are_named(tmp_path, text, message):
    with pytest.raises(ManifestError, match=None) as err:
        load_manifest(write(tmp_path, text))
    assert message in str(err.value)
