"""Where everyone is at time t, and what the director shows: the play of one demo clip or match.

Open play is a slow drift of both teams around a moving centre of play, with the ball passed between
players every 1.6 s. Each planned event takes over the players it needs (``_choreograph``), eased in over
the second before it and out over the second after it, so the play leads into the event instead of jumping
to it. The main camera follows the ball (smoothed over the last 0.8 s) and zooms in on events; after goals
and cards the director cuts away (``generator.AFTERMATH``). ``Scene.draw(t)`` is a pure function of t.
"""

from __future__ import annotations

import numpy as np

from football_assets.core.demo import broadcast as bc
from football_assets.core.demo import generator as g

PASS_S = 1.6
EASE_S = 1.0
REFEREE = ((20, 20, 20), (20, 20, 20))
KEEPER_KITS = {"home": (40, 200, 80), "away": (150, 150, 150)}
SUB_OFFICIAL = (230, 230, 60)
NOISE_SD = 1.5  # sensor noise, grey levels: visible, but the encoder keeps most of it out of a broadcast


def _lerp(a, b, u):
    u = min(max(u, 0.0), 1.0)
    return np.asarray(a, float) + (np.asarray(b, float) - np.asarray(a, float)) * u


def _smooth(u):
    u = min(max(u, 0.0), 1.0)
    return u * u * (3 - 2 * u)


class Scene:
    def __init__(self, clip: g.DemoClip):
        self.clip = clip
        rng = np.random.default_rng(g.hash_int(clip.scene_key or clip.key))
        mrng = np.random.default_rng(g.hash_int(f"look:{clip.source_id}"))  # the match's look, shared by its clips
        kits = {t: g.KITS[clip.kits[t]] for t in g.TEAMS}
        shorts = {t: (240, 240, 240) if sum(kits[t]) < 400 else (30, 30, 40) for t in g.TEAMS}
        self.look = bc.Look(
            home=kits["home"], home_shorts=shorts["home"], away=kits["away"], away_shorts=shorts["away"],
            grass=tuple(int(v) for v in mrng.integers([40, 115, 40], [65, 160, 70])),
            gain=float(mrng.uniform(0.78, 1.12)), tint=tuple(float(v) for v in mrng.uniform(0.92, 1.08, 3)),
            shadow=(float(mrng.uniform(-0.3, 0.3)), 1.0, float(mrng.uniform(40, 90))),
            crowd_seed=int(mrng.integers(1 << 30)))
        n = 2 * g.OUTFIELD
        home = np.column_stack([rng.uniform(8, 62, g.OUTFIELD), rng.uniform(6, 62, g.OUTFIELD)])
        away = np.column_stack([rng.uniform(43, 97, g.OUTFIELD), rng.uniform(6, 62, g.OUTFIELD)])
        self.formation = np.vstack([home, away])
        self.phase = rng.uniform(0, 2 * np.pi, (n, 2))
        self.speed = rng.uniform(0.3, 0.9, (n, 2))
        self.centre_phase = rng.uniform(0, 2 * np.pi, 2)
        self.carriers = rng.integers(0, n, int(clip.duration / PASS_S) + 3)
        self.noise = [rng.normal(0, NOISE_SD, (bc.HEIGHT, bc.WIDTH, 3)).astype(np.int16) for _ in range(4)]
        self.numbers = [str(v) for v in clip.rosters["home"] + clip.rosters["away"]]
        roles = list(clip.roles) + [None] * (len(clip.events) - len(clip.roles))
        self.roles = [r or {"team": "home", "side": "left", "player": g.ROLE[e.event], "number": 0, "sub_number": 12}
                      for e, r in zip(clip.events, roles)]
        # where each event happens: in the half (and at the end) that the plan and description name
        self.spots = [np.array([rng.uniform(20, 46) if r["side"] == "left" else rng.uniform(59, 85), rng.uniform(10, 58)])
                      for r in self.roles]

    # ---------------------------------------------------------------- open play
    def players(self, t: float) -> np.ndarray:
        cx = 28 * np.sin(0.11 * t + self.centre_phase[0])
        cy = 12 * np.sin(0.07 * t + self.centre_phase[1])
        pos = self.formation + np.array([0.8 * cx, 0.5 * cy]) + 2.5 * np.sin(self.speed * t + self.phase)
        return np.clip(pos, [1, 1], [104, 67])

    def ball(self, t: float, pos: np.ndarray) -> np.ndarray:
        k = int(t // PASS_S)
        u = _smooth((t / PASS_S - k - 0.55) / 0.45)
        a, b = pos[self.carriers[k % len(self.carriers)]], pos[self.carriers[(k + 1) % len(self.carriers)]]
        xy = _lerp(a + (0.4, 0.2), b + (0.4, 0.2), u)
        return np.array([xy[0], xy[1], 0.0])

    # ---------------------------------------------------------------- state at time t
    def state(self, t: float, only: int | None = None, u_fixed: float | None = None) -> dict:
        """Everyone's position at ``t``; with ``only``, event ``only`` is shown at progress ``u_fixed``."""
        pos = self.players(t)
        ball = self.ball(t, pos)
        st = {"pos": pos, "ball": ball, "extra": [], "lying": set(), "card": None, "board": None,
              "keepers": np.array([[1.0, 34 + 3 * np.sin(t)], [104.0, 34 + 3 * np.cos(t)]]),
              "ref": np.clip(ball[:2] + (-7, 5), [2, 2], [103, 66]), "keeper_lying": [False, False],
              "keeper_kit": {0: "home", 1: "away"}, "zoom": 1.0, "numbers": list(self.numbers)}
        # the camera follows where the ball has been over the last 0.8 s
        tx, ty, _ = np.mean([ball] + [self.ball(t - d, self.players(t - d)) for d in (0.27, 0.53, 0.8)], axis=0)
        st["target"] = np.array([tx, 0.5 * ty + 0.5 * 28, 0.0])  # keep the near side in view
        for i, ev in enumerate(self.clip.events):
            if only is not None and i != only:
                continue
            if u_fixed is None:
                if not ev.start_time - EASE_S <= t < ev.end_time + EASE_S:
                    continue
                w = _smooth((t - ev.start_time + EASE_S) / EASE_S) * _smooth((ev.end_time + EASE_S - t) / EASE_S)
                u = (t - ev.start_time) / (ev.end_time - ev.start_time)
            else:
                w, u = 1.0, u_fixed
            self._choreograph(i, ev, u, w, t, st)
        return st

    def _choreograph(self, i: int, ev, u: float, w: float, t: float, st: dict) -> None:
        role, spot = self.roles[i], self.spots[i]
        me = role["player"]
        team = role["team"]
        other = g.TEAMS[1 - g.TEAMS.index(team)]
        mine = list(range(g.TEAM_BASE[team], g.TEAM_BASE[team] + g.OUTFIELD))
        theirs = list(range(g.TEAM_BASE[other], g.TEAM_BASE[other] + g.OUTFIELD))
        left = role["side"] == "left"
        gx, inward, end = (0.0, 1.0, 0) if left else (105.0, -1.0, 1)
        uc = min(max(u, 0.0), 1.0)
        inside = 0.0 <= u < 1.0
        pos, want = st["pos"], st["pos"].copy()
        ball = st["ball"].copy()
        target, zoom = np.array([gx + inward * 14, 32.0, 0.0]), 1.4
        st["keeper_kit"][end] = other  # the goal under attack is defended by the other team's keeper
        kind = ev.event
        if kind in ("Goal", "Shot on target"):
            start = np.array([gx + inward * (22 if kind == "Goal" else 25), spot[1] * 0.4 + 34 * 0.6])
            shoot = start + (-inward * 8, 0)
            want[me] = _lerp(start, shoot, uc / 0.35)
            for k, p in enumerate(theirs[:5]):  # defenders back in the box
                want[p] = (gx + inward * (5 + 3 * k), 24 + 5 * k)
            for k, p in enumerate(mine[:4]):
                if p != me:
                    want[p] = (gx + inward * (15 + 4 * k), 18 + 9 * k)
            aim_y = 34 + (2.5 if spot[1] > 34 else -2.5)
            if kind == "Goal":
                dest = np.array([gx - inward * 1.2, aim_y, 0.9])
                ball = np.append(want[me] + (inward * 0.6, 0), 0) if uc < 0.35 else _lerp(np.append(shoot, 0.2), dest, (uc - 0.35) / 0.15)
                st["keepers"][end] = (gx + inward * 1.0, 34 - (aim_y - 34) * 0.8)
                st["keeper_lying"][end] = 0.4 < u < 1.4
                if uc > 0.55:  # the scorer and his team run to the near corner flag
                    flag = np.array([gx + inward * 1.5, 1.5])
                    for k, p in enumerate(mine):
                        want[p] = _lerp(want[p], flag + (inward * (1 + k % 3), 1 + k // 3), (uc - 0.55) / 0.4)
                    want[me] = _lerp(want[me], flag, (uc - 0.55) / 0.3)
                    target = np.array([gx + inward * 10, 14.0, 0.0])
                zoom = 1.5
            else:
                keeper = np.array([gx + inward * 1.2, aim_y])
                ball = np.append(want[me] + (inward * 0.6, 0), 0) if uc < 0.3 else np.append(_lerp(shoot, keeper, (uc - 0.3) / 0.2), 0.6)
                st["keepers"][end] = keeper
                st["keeper_lying"][end] = 0.42 < u < 1.15
                zoom = 1.4
        elif kind == "Penalty":
            spot_xy = np.array([gx + inward * 11, 34.0])
            others = [p for p in mine + theirs if p != me]
            for k, p in enumerate(others):
                want[p] = (gx + inward * (18.5 + (k % 2)), 16 + 36 * k / max(len(others) - 1, 1))
            want[me] = _lerp(spot_xy + (inward * 2.5, 1.0), spot_xy + (inward * 0.4, 0.3), (uc - 0.5) / 0.12)
            ball = np.append(spot_xy, 0) if uc < 0.62 else _lerp(np.append(spot_xy, 0), (gx - inward * 0.8, 34 + 2.6, 0.5), (uc - 0.62) / 0.12)
            st["keepers"][end] = (gx + inward * 0.4, 34.0)
            target, zoom = np.array([gx + inward * 12, 34.0, 0.0]), 1.8
        elif kind in ("Yellow card", "Red card"):
            near = sorted(mine + theirs, key=lambda p: np.hypot(*(pos[p] - spot)))[:5]
            for k, p in enumerate(near):  # a few players gather, the others stop
                want[p] = spot + (2.2 * np.cos(k * 1.3), 1.6 * np.sin(k * 1.3))
            want[me] = spot
            if kind == "Red card" and uc > 0.55:
                want[me] = _lerp(spot, (spot[0], -0.5), (uc - 0.55) / 0.45)
            st["ref"] = _lerp(st["ref"], spot + (1.2, 0.6), uc / 0.15)
            if 0.15 <= u < 0.85:
                st["card"] = (250, 225, 20) if kind == "Yellow card" else (235, 0, 0)
            ball = np.array([spot[0] + 3, spot[1] + 2, 0.0])
            target, zoom = np.append(spot, 0), 1.9
        elif kind == "Corner":
            cy = 0.3 if spot[1] < 34 else 67.7
            flag = np.array([gx + inward * 0.5, cy])
            crowd = [p for p in mine + theirs if p != me][:10]
            for k, p in enumerate(crowd):
                want[p] = (gx + inward * (3 + 1.6 * (k % 5)), 29 + 2.5 * (k // 2) % 10)
            want[me] = flag + (-inward * 0.8, -0.8 if cy < 34 else 0.8)
            mid = np.array([gx + inward * 6, 34.0])
            if uc < 0.5:
                ball = np.append(flag, 0)
            else:
                v = min((uc - 0.5) / 0.3, 1.0)
                xy = _lerp(flag, mid, v)
                ball = np.array([xy[0], xy[1], 4.0 * 4 * v * (1 - v)])
            target, zoom = np.array([gx + inward * 9, (cy + 34) / 2, 0.0]), 1.45
        elif kind == "Foul":
            culprit = theirs[1]
            want[me] = spot
            want[culprit] = _lerp(spot + (-inward * 3.0, -2.0), spot + (-inward * 0.8, -0.4), uc / 0.3)
            if 0.3 <= u < 1.0 + 0.75 / max(ev.end_time - ev.start_time, 0.1):
                st["lying"].add(me)
            st["ref"] = _lerp(st["ref"], spot + (3.0, -2.0), uc / 0.7)
            ball = np.append(_lerp(spot + (0.5, 0.3), spot + (2.5, 1.2), uc), 0)
            target, zoom = np.append(spot, 0), 1.7
        elif kind == "Substitution":
            board_at = np.array([52.5 + 1.5, -1.2])
            want[me] = _lerp((52.5 - 7, 6.0), (52.5 - 1.0, -1.0), uc / 0.8)
            st["numbers"][me] = str(role["number"])
            coming = _lerp((52.5 + 3.0, -2.0), (52.5 + 4.0, 5.0), (uc - 0.45) / 0.55)
            kit = g.KITS[self.clip.kits[team]]
            if inside:
                st["board"] = (board_at, (str(role["number"]), str(role["sub_number"])))
                st["extra"].append(bc.Figure(coming[0], coming[1], kit, number=str(role["sub_number"])))
            target, zoom = np.array([52.5, 3.0, 0.0]), 2.0
        st["pos"] = pos + (np.asarray(want) - pos) * w
        st["ball"] = st["ball"] + (np.asarray(ball, float) - st["ball"]) * w
        st["target"] = st["target"] + (np.asarray(target, float) - st["target"]) * w
        st["zoom"] = st["zoom"] + (zoom - st["zoom"]) * w

    # ---------------------------------------------------------------- drawing
    def figures(self, st: dict) -> list[bc.Figure]:
        look = self.look
        out = []
        for p, (x, y) in enumerate(st["pos"]):
            home = p < g.OUTFIELD
            out.append(bc.Figure(x, y, look.home if home else look.away, look.home_shorts if home else look.away_shorts,
                                 number=st["numbers"][p], lying=p in st["lying"]))
        for end, (x, y) in enumerate(st["keepers"]):
            out.append(bc.Figure(x, y, KEEPER_KITS[st["keeper_kit"][end]], (30, 30, 30), lying=st["keeper_lying"][end]))
        rx, ry = st["ref"]
        out.append(bc.Figure(rx, ry, REFEREE[0], REFEREE[1], arm_up=st["card"]))
        if st["board"] is not None:
            (bx, by), numbers = st["board"]
            out.append(bc.Figure(bx, by, SUB_OFFICIAL, (30, 30, 30), board=numbers))
        return out + st["extra"]

    def shot(self, t: float):
        """What the director shows at ``t``: ("main", None) or a cut after event i."""
        for i, ev in enumerate(self.clip.events):
            after = t - ev.end_time
            if ev.event in g.AFTERMATH and 0 <= after < g.AFTERMATH[ev.event]:
                if after < (0.4 if ev.event == "Goal" else 0.25):
                    return "main", None
                if ev.event == "Goal" and after >= 2.0:
                    return "replay", i
                return "closeup", i
        return "main", None

    def draw(self, t: float) -> np.ndarray:
        kind, i = self.shot(t)
        badge = False
        if kind == "main":
            st = self.state(t)
            tx, ty, _ = st["target"]
            cam = bc.Camera(bc.MAIN_CAMERA, (float(np.clip(tx, 12, 93)), float(np.clip(ty, 2, 50)), 0.0), st["zoom"])
        elif kind == "closeup":  # the scorer, or the referee holding the card up
            ev = self.clip.events[i]
            st = self.state(ev.end_time, only=i, u_fixed=0.95 if ev.event != "Goal" else 1.0)
            if ev.event == "Goal":
                x, y = st["pos"][self.roles[i]["player"]]
            else:
                st["card"] = (250, 225, 20) if ev.event == "Yellow card" else (235, 0, 0)
                x, y = st["ref"]
            cam = bc.Camera((x + 1.5, y - 8.0, 1.7), (x, y, 1.35), 1.0)
        else:  # the replay: the event again, at half speed, from a low camera behind the goal
            ev = self.clip.events[i]
            after = t - ev.end_time - 2.0
            length = ev.end_time - ev.start_time
            tr = ev.start_time + 0.2 * length + after * 0.5
            st = self.state(tr, only=i, u_fixed=(tr - ev.start_time) / length)
            gx, inward = (0.0, 1.0) if self.roles[i]["side"] == "left" else (105.0, -1.0)
            cam = bc.Camera((gx - inward * 14, 40.0, 5.0), (gx + inward * 14, 33.0, 0.0), 1.3)
            badge = True
        img = bc.background(cam, self.look)
        for gx in (0.0, 105.0):
            bc.draw_goal(img, cam, gx)
        bc.draw_figures(img, cam, self.figures(st))
        bc.draw_ball(img, cam, *st["ball"])
        bc.score_bug(img, self.look, self.score(t), self.clip.clock_start + t)
        if self.clip.graphics:
            self._captions(img, t)
        if self.clip.cue:
            for ev in self.clip.events:
                if ev.start_time <= t < ev.end_time:
                    bc.cue_band(img, ev.event)
        if badge:
            bc.replay_badge(img)
            after = t - self.clip.events[i].end_time - 2.0
            if after < 0.25 or after > 2.0:
                bc.wipe(img, after / 0.25 if after < 0.25 else (after - 2.0) / 0.25)
        return bc.finish(img, self.noise[int(round(t * self.clip.fps)) % len(self.noise)])

    def score(self, t: float) -> tuple[int, int]:
        """The score bug changes once the director is back from the goal's replay."""
        home, away = self.clip.score
        for ev, role in zip(self.clip.events, self.roles):
            if ev.event == "Goal" and t >= ev.end_time + g.AFTERMATH["Goal"]:
                home, away = (home + 1, away) if role["team"] == "home" else (home, away + 1)
        return home, away

    def _captions(self, img: np.ndarray, t: float) -> None:
        for ev, role in zip(self.clip.events, self.roles):
            delay = g.CAPTION_DELAY.get(ev.event)
            if delay is not None and 0 <= t - ev.end_time - delay < g.CAPTION_S:
                number = str(role["sub_number"] if ev.event == "Substitution" else role["number"])
                bc.lower_third(img, ev.event, g.KITS[self.clip.kits[role["team"]]], number)


def render_frames(clip: g.DemoClip):
    """Yield the clip's RGB frames (HEIGHT x WIDTH x 3, uint8) at ``clip.fps``."""
    sc = Scene(clip)
    for f in range(int(round(clip.duration * clip.fps))):
        yield sc.draw(f / clip.fps)
