"""The demo's long match follows three real matches (StatsBomb open data bundled with kloppy): the real
figures are read and plausible, and planned matches (ground truth only, no frames) keep their rates and
sequences."""

import json
import random
from functools import lru_cache

import pytest

from football_assets.core.demo import match, real_matches
from football_assets.core.events import EVENT_CLASSES

SEEDS = range(100)  # planning is ~1 ms a match; 100 keeps the Poisson noise of the mean well inside the real range
CARDS = ("Yellow card", "Red card")


@lru_cache(maxsize=1)
def planned():
    return [match.plan_match(90, seed) for seed in SEEDS]


def test_three_real_matches_are_read_and_plausible():
    ms = real_matches.matches()
    assert len({m.name for m in ms}) == 3 and all(real_matches.data_dir().joinpath(f).is_file() for f in real_matches.MATCH_FILES)
    assert all(90 <= m.minutes <= 100 for m in ms), [m.minutes for m in ms]  # two halves plus stoppage time
    rates = real_matches.rates_per_90()
    assert all(15 <= r <= 40 for r in rates["Foul"]["per_match"].values()), rates["Foul"]
    for m in ms:  # goals are scored shots: the raw file's shots with outcome Goal, one by one
        raw = json.loads(real_matches.data_dir().joinpath(m.file).read_text())
        scored = [e for e in raw if e["type"]["name"] == "Shot" and e["shot"]["outcome"]["name"] == "Goal"]
        shots = sum(e["type"]["name"] == "Shot" for e in raw)
        goals = sum(c == "Goal" for _, c, _ in m.events)
        assert goals == len(scored) and 0 < goals < shots, (m.name, goals, len(scored), shots)
    # the real scores, own goals left out (not shots): Barcelona 3-0 Alavés, Barcelona 2-2 Girona, Turkey 0-3 Italy (1 o.g.)
    assert [sum(c == "Goal" for _, c, _ in m.events) for m in ms] == [3, 4, 2]
    for cls, r in rates.items():
        assert r["min"] <= r["mean"] <= r["max"] and len(r["per_match"]) == 3, cls
    assert all(g >= 0 for g in real_matches.gaps()) and len(real_matches.gaps()) > 100
    assert all(name in real_matches.summary() for name in (*EVENT_CLASSES, *(m.name for m in ms)))


def test_long_match_rates_lie_within_the_real_range():
    rates = real_matches.rates_per_90()
    counts = {cls: 0 for cls in EVENT_CLASSES}
    for m in planned():
        for e in m.events:
            counts[e.event] += 1
    for cls in EVENT_CLASSES:
        lo, hi = rates[cls]["min"], rates[cls]["max"]
        if hi - lo < 0.1:
            # a degenerate range (Penalty: none in any of the three matches) says little about the true rate;
            # allow 0.3 per 90 either way, about the top-flight penalty rate that three matches can miss
            lo, hi = lo - 0.3, hi + 0.3
        mean = counts[cls] / len(SEEDS)  # 90-minute matches: a match's count is its per-90 rate
        assert lo <= mean <= hi, (cls, mean, lo, hi)
    # ``rates`` overrides the real means: fouls only, at three times the real rate
    only = [match.plan_match(90, seed, rates={"Foul": 60}) for seed in range(10)]
    assert {e.event for m in only for e in m.events} == {"Foul"}
    assert 50 <= sum(len(m.events) for m in only) / 10 <= 70


def test_substitutions_goal_pause_and_sequences():
    assert real_matches.transitions()["second_half_subs"] == 1.0  # all 21 real substitutions: second half
    subs = cards = paired = 0
    for m in planned():
        ev = m.events
        assert all(0 < e.start_time < e.end_time <= m.duration and e.start_time * 4 == int(e.start_time * 4) for e in ev)
        for a, b in zip(ev, ev[1:]):
            assert b.start_time >= a.end_time + match.GAP_S, (m.key, a, b)
            if a.event == "Goal":
                assert b.start_time - a.end_time >= 30, (m.key, a, b)  # kick-off pause
            if b.event in CARDS:
                paired += a.event == "Foul" and b.start_time - a.end_time <= match.GAP_S + 2
        for e in ev:
            if e.event == "Substitution":
                subs += 1
                assert e.start_time >= m.duration / 2, (m.key, e)
            cards += e.event in CARDS
    assert subs > 100 and cards > 100
    # most cards come a few seconds after a foul (real: 10 of 13 cards are a foul's); by chance alone, almost none would
    assert paired / cards >= 0.5, (paired, cards)


def test_follow_up_draws_from_the_real_transitions():
    rng = random.Random(0)
    draws = [real_matches.follow_up("Foul", rng) for _ in range(2000)]
    card = sum(d in CARDS for d in draws) / len(draws)
    row = real_matches.transitions()["next"]["Foul"]
    assert 0 < card < 1 and None in draws
    assert abs(card - sum(row.get(c, 0) for c in CARDS)) < 0.03, card
    assert {real_matches.follow_up("Goal", rng) for _ in range(200)} == {None}  # nothing within 60 s of a real goal
    assert real_matches.transitions()["observed"]["Penalty"] == 0  # no real penalty: the pooled row stands in
    assert abs(sum(real_matches.transitions()["next"]["Penalty"].values()) - 1) < 1e-9
    with pytest.raises(ValueError, match="unknown event class 'Offside'"):
        real_matches.follow_up("Offside", rng)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="unknown event class.*'Offside'"):
        match.plan_match(10, 0, rates={"Offside": 3})
    with pytest.raises(ValueError, match=">= 0 events per 90"):
        match.plan_match(10, 0, rates={"Foul": -1})
    for minutes in (0, -5):
        with pytest.raises(ValueError, match="> 0 minutes"):
            match.plan_match(minutes, 0)
