"""Where the caption bar and the helpline/QR panel go on one frame: away from the faces, without jumping.

Pure computation, no pixels: ``place(stage, faces, previous)`` takes the output
size and the sizes the layer can draw (a ``Stage``), the face boxes of this
frame in output pixels, and the last ``Placement``, and returns the next one.
A tester found the panel over half the face (the black eye included) on
portrait and square outputs, where a fixed corner is where the face is; so
each element has candidate spots in order of preference and moves to another
when a face is in the way, under rules that keep it calm:

- it moves only once a face has been in the way ``settle`` frames in a row
  ("in the way": within ``near`` face heights, or where the face will be in
  ``ahead`` frames at its present speed), or at once if a face really
  overlaps it;
- it goes where the faces are comfortably far (``far`` face heights), the
  preferred spot first, the biggest panel first (smaller panels come next:
  a smaller QR code, then the QR code alone);
- it comes back to a better spot only after that spot has been comfortably
  clear for ``back`` frames, so it never flickers between corners;
- a move eases: the new spot fades in and the old one out over ``fade`` frames
  (out at once if the face already covers it);
- the panel hides when no spot is clear (the caption bar never hides: it
  stays where it is least in the way).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

Box = tuple[float, float, float, float]  # x0, y0, x1, y1: a face, in output pixels
Rect = tuple[int, int, int, int]  # x, y, w, h

CORNERS = ("top-right", "top-left", "bottom-right", "bottom-left")


@dataclass(frozen=True)
class Rules:
    """How calm the elements are; frames, and distances in face heights."""

    settle: int = 3  # frames a face must be in the way before an element moves
    back: int = 45  # frames a better spot must be clear before it moves back (1.5 s at 30 fps)
    fade: int = 5  # frames a move eases over
    near: float = 0.03  # closer than this (face heights) is "in the way"
    far: float = 0.08  # a spot to move to keeps at least this far from every face
    ahead: int = 8  # frames a face's motion is projected ahead: where it will be counts as in the way
    route: int = 24  # and a spot to go to must be clear of where it will be this many frames ahead


@dataclass(frozen=True)
class Stage:
    """What can be placed on an output of ``size`` (w, h): sizes in pixels, including shadows."""

    size: tuple[int, int]
    bar_height: int = 0  # 0: no caption bar
    bar_edge: str = "bottom"  # the one asked for: "bottom" | "top"
    panels: tuple[tuple[int, int], ...] = ()  # panel sizes, biggest (preferred) first; () no panel
    corner: str = "top-right"  # the panel's preferred corner
    margin: int = 0  # from the frame's edges to a panel


@dataclass(frozen=True)
class Spot:
    """One element's state: the candidate it shows at (-1: hidden), its rect, opacity, what it is leaving."""

    slot: int = -1
    rect: Rect | None = None
    opacity: float = 0.0
    leaving: Rect | None = None
    leaving_opacity: float = 0.0
    size: int = 0  # which of the element's sizes (Stage.panels) it shows
    leaving_size: int = 0
    in_way: int = 0  # frames in a row a face has been in the way
    better: int = 0  # frames in a row a better spot has been clear


@dataclass(frozen=True)
class Placement:
    size: tuple[int, int]
    bar: Spot
    panel: Spot
    faces: tuple[Box, ...] = ()  # this frame's, to see how they move on the next

    def drawn(self) -> list[tuple[str, Rect, float, int]]:
        """(element, rect, opacity, size index) of everything to draw, the spots being left first."""
        out = []
        for name, spot in (("bar", self.bar), ("panel", self.panel)):
            if spot.leaving is not None and spot.leaving_opacity > 0:
                out.append((name, spot.leaving, spot.leaving_opacity, spot.leaving_size))
            if spot.rect is not None and spot.opacity > 0:
                out.append((name, spot.rect, spot.opacity, spot.size))
        return out


def intersects(rect: Rect, box: Box, grow: float = 0.0) -> bool:
    x, y, w, h = rect
    x0, y0, x1, y1 = box
    return x < x1 + grow and x + w > x0 - grow and y < y1 + grow and y + h > y0 - grow


def clearance(rect: Rect, faces: Sequence[Box]) -> float:
    """How far ``rect`` is from the nearest face, in that face's heights (inf: no face; <= 0: overlapping)."""
    best = float("inf")
    x, y, w, h = rect
    for x0, y0, x1, y1 in faces:
        dx = max(x0 - (x + w), x - x1, 0.0)
        dy = max(y0 - (y + h), y - y1, 0.0)
        gap = (dx * dx + dy * dy) ** 0.5 if (dx or dy) else -1.0
        best = min(best, gap / max(y1 - y0, 1.0))
    return best


def heading(faces: Sequence[Box], before: Sequence[Box], frames: int) -> list[Box]:
    """Where each face will be in ``frames`` frames at the speed it moved since the last frame (matched
    to the nearest face then, if one was within its width); a face with no match stays where it is."""
    out = []
    for x0, y0, x1, y1 in faces:
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        best, dx, dy = x1 - x0, 0.0, 0.0
        for b in before:
            ddx, ddy = cx - (b[0] + b[2]) / 2, cy - (b[1] + b[3]) / 2
            if (ddx * ddx + ddy * ddy) ** 0.5 < best:
                best, dx, dy = (ddx * ddx + ddy * ddy) ** 0.5, ddx, ddy
        out.append((x0 + dx * frames, y0 + dy * frames, x1 + dx * frames, y1 + dy * frames))
    return out


def bar_rects(stage: Stage) -> list[Rect]:
    """The bar's candidates: the edge asked for, then the other one."""
    width, height = stage.size
    top, bottom = (0, 0, width, stage.bar_height), (0, height - stage.bar_height, width, stage.bar_height)
    return [bottom, top] if stage.bar_edge == "bottom" else [top, bottom]


def panel_rects(stage: Stage, bar: Rect | None) -> list[tuple[Rect, int]]:
    """The panel's candidates (rect, size index), in order of preference: biggest size first; for each
    size the preferred corner, the other corner on its side, the corner below it, the opposite corner,
    then the middle of each side. Every rect is inside the frame and clear of the bar."""
    width, height = stage.size
    vertical, horizontal = stage.corner.split("-")
    other_h = "left" if horizontal == "right" else "right"
    other_v = "bottom" if vertical == "top" else "top"
    anchors = [(vertical, horizontal), (vertical, other_h), (other_v, horizontal), (other_v, other_h),
               ("middle", horizontal), ("middle", other_h)]
    top, bottom = 0, height
    if bar is not None:
        if bar[1] == 0:
            top = bar[3]
        else:
            bottom = bar[1]
    out = []
    m = stage.margin
    for index, (w, h) in enumerate(stage.panels):
        if w + 2 * m > width or h + 2 * m > bottom - top:
            continue
        for v, hz in anchors:
            x = m if hz == "left" else width - m - w
            y = top + m if v == "top" else bottom - m - h if v == "bottom" else top + (bottom - top - h) // 2
            out.append(((x, y, w, h), index))
    return out


def _choose(rects: Sequence[Rect], faces: Sequence[Box], rules: Rules, may_hide: bool, current: int) -> int:
    """Where to go: the first spot comfortably far from every face, else the clearest one, else hidden
    (or, for an element that never hides, where it is)."""
    scores = [clearance(rect, faces) for rect in rects]
    for index, score in enumerate(scores):
        if score >= rules.far:
            return index
    if scores:
        best = max(range(len(scores)), key=scores.__getitem__)
        if scores[best] > rules.near:
            return best
    if may_hide or not rects:
        return -1
    return current if current >= 0 else 0


def _faded(opacity: float) -> float:
    """An opacity after a fade step: never below 0, and exactly 0 at the end (no float residue)."""
    return max(0.0, round(opacity, 6))


def step(spot: Spot | None, candidates: Sequence[tuple[Rect, int]], faces: Sequence[Box], rules: Rules,
         may_hide: bool, ahead: Sequence[Box] = (), route: Sequence[Box] = ()) -> Spot:
    """One element's next state. ``candidates``: its (rect, size index) this frame, in order of preference;
    ``ahead``: where the faces will soon be (in the way already); ``route``: where they are heading
    (a spot to go to must be clear of those too)."""
    rects = [rect for rect, _size in candidates]
    now = faces
    faces = [*faces, *ahead, *route]
    if spot is None:  # the first frame: straight where it belongs, no easing
        slot = _choose(rects, faces, rules, may_hide, -1)
        if slot < 0:
            return Spot()
        return Spot(slot, rects[slot], 1.0, size=candidates[slot][1])
    slot = spot.slot if spot.slot < len(rects) else -1
    rect = rects[slot] if slot >= 0 else None
    overlapping = rect is not None and any(intersects(rect, face) for face in now)
    near = rect is not None and (any(intersects(rect, face, rules.near * (face[3] - face[1])) for face in now)
                                 or any(intersects(rect, face) for face in ahead))
    in_way = spot.in_way + 1 if near else 0
    first_far = next((i for i, r in enumerate(rects) if clearance(r, faces) >= rules.far), -1)
    better = first_far >= 0 and (slot < 0 or first_far < slot)
    waited = spot.better + 1 if better else 0
    target = slot
    if overlapping or in_way >= rules.settle:
        target = _choose(rects, faces, rules, may_hide, slot)
    elif better and waited >= (rules.settle if slot < 0 else rules.back):
        target = first_far
    moved_rect = rects[target] if target >= 0 else None
    if target == slot and moved_rect == spot.rect:
        fading = _faded(spot.leaving_opacity - 1.0 / rules.fade)
        return replace(spot, rect=rect, in_way=in_way if target >= 0 else 0, better=waited,
                       opacity=min(1.0, round(spot.opacity + 1.0 / rules.fade, 6)) if target >= 0 else 0.0,
                       leaving=spot.leaving if fading else None, leaving_opacity=fading)
    leaving, leaving_opacity = spot.rect, spot.opacity
    if overlapping or leaving is None:
        leaving, leaving_opacity = None, 0.0  # a face is already under it: gone at once
    fading = _faded(leaving_opacity - 1.0 / rules.fade)
    return Spot(target, moved_rect, 1.0 / rules.fade if target >= 0 else 0.0, leaving if fading else None,
                fading, candidates[target][1] if target >= 0 else 0, spot.size)


def place(stage: Stage, faces: Sequence[Box], previous: Placement | None = None, rules: Rules = Rules()) -> Placement:
    """The next placement of the bar and the panel for this frame's faces (see the module's docstring)."""
    if previous is not None and previous.size != stage.size:
        previous = None
    ahead = heading(faces, previous.faces, rules.ahead) if previous is not None else []
    route = heading(faces, previous.faces, rules.route) if previous is not None else []
    bar = Spot()
    if stage.bar_height > 0:
        bar = step(previous.bar if previous else None, [(rect, 0) for rect in bar_rects(stage)], faces, rules,
                   may_hide=False, ahead=ahead, route=route)
    panel = Spot()
    if stage.panels:
        panel = step(previous.panel if previous else None, panel_rects(stage, bar.rect), faces, rules,
                     may_hide=True, ahead=ahead, route=route)
    return Placement(stage.size, bar, panel, tuple(faces))
