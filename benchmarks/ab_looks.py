"""Render cost per face of this tree against another revision, both in one process, face by face.

Why: on a shared VM the machine's speed moves by a quarter within seconds, so two runs of
``bench_looks.py`` minutes apart cannot tell a 5 % change (the same code measured 3.0-4.6 ms a face
in one hour). Here the other revision (a git worktree in a temporary folder) is loaded beside this one
in the same process; both draw every face of the same frames in turn, each draw timed as the least
of ``--repeats`` tries on a copy of the frame (each look's memory of the face then moves on by one
draw, as in a live session), and the medians are compared: a paired comparison under the same load.
The frames are the 720p clip ``bench_looks.py`` uses, tracked once with this tree.

    .venv/bin/python benchmarks/ab_looks.py --against HEAD~1 --looks black_eye_left cheek_bruise
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_pipeline import clip_for, default_media, find_model  # noqa: E402
from media import read_frames, track_clip  # noqa: E402

# Packages the editable install maps to top-level folders (pyproject's package-dir): loaded from the
# tree being measured, or the other tree's renderer would draw with this tree's shaders.
MAPPED = {"arfilter.shaders": "shaders", "arfilter.overlays": "overlays"}


def load_tree(root: Path) -> dict[str, Any]:
    """The renderer, pack loader and mesh loader of the arfilter in ``root``, loaded under the usual
    names and then taken out of ``sys.modules`` (they keep their own references), so another tree
    can be loaded beside them; and those modules, to put back while this tree draws."""
    saved = {name: module for name, module in sys.modules.items() if name == "arfilter" or name.startswith("arfilter.")}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        import arfilter  # noqa: F401  (from root, first on the path)

        for name, folder in MAPPED.items():
            spec = importlib.util.spec_from_file_location(name, root / folder / "__init__.py",
                                                          submodule_search_locations=[str(root / folder)])
            module: ModuleType = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        from arfilter.render.packs import load_overlay
        from arfilter.render.renderer import Renderer
        from arfilter.tracking.mesh import load_canonical_mesh

        modules = {name: module for name, module in sys.modules.items()
                   if name == "arfilter" or name.startswith("arfilter.")}
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name == "arfilter" or name.startswith("arfilter.")]:
            del sys.modules[name]
        sys.modules.update(saved)
    return {"Renderer": Renderer, "load_overlay": load_overlay, "load_canonical_mesh": load_canonical_mesh,
            "modules": modules}


def measure(trees: list[dict[str, Any]], frames: list, faces: list, model: Path, look: str,
            repeats: int) -> list[float]:
    """Median ms per face of each tree's renderer drawing ``look``, alternating face by face."""
    renderers = [tree["Renderer"](tree["load_canonical_mesh"](model), tree["load_overlay"](look)) for tree in trees]
    times: list[list[float]] = [[] for _ in trees]
    for frame, found in zip(frames, faces):
        for face in found:
            for tree, renderer, spent in zip(trees, renderers, times):
                # A module imported at its first call (the bruise's compiled lookup) must be this tree's.
                sys.modules.update(tree["modules"])
                best = float("inf")
                for _ in range(repeats):
                    image = frame.copy()
                    start = time.perf_counter()
                    renderer.draw_face(image, face)
                    best = min(best, time.perf_counter() - start)
                spent.append(best * 1000.0)
        for renderer in renderers:
            if renderer.occlusion is not None:
                renderer.occlusion.seen({face.face_id for face in found})
    return [statistics.median(spent) for spent in times]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="the other revision (anything git rev-parse takes)")
    parser.add_argument("--looks", nargs="+", help="default: every built-in look")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3, help="tries per draw; the least counts")
    parser.add_argument("--media", type=Path, default=default_media())
    parser.add_argument("--model", help="face_landmarker.task (default: $ARFILTER_MODEL, ../shared/models)")
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "ARFILTER_BENCH_CACHE", Path.home() / ".cache" / "arfilter-bench")))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    model = find_model(args.model, args.media)
    found = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "--verify", "--quiet",
                            f"{args.against}^{{commit}}"], capture_output=True, text=True)
    if found.returncode != 0:
        print(f"ab_looks: --against {args.against!r} is no revision of this repository: give a commit, "
              "branch or tag (git log --oneline lists them)", file=sys.stderr)
        return 2
    revision = found.stdout.strip()
    args.cache.mkdir(parents=True, exist_ok=True)
    frames = read_frames(clip_for("720p", args.media, args.cache, None), args.frames)
    faces = track_clip(frames, model, max_faces=2)
    with tempfile.TemporaryDirectory() as folder:
        other = Path(folder) / "tree"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(other), revision], check=True)
        try:
            trees = [load_tree(other), load_tree(REPO)]
            from arfilter.render.packs import list_overlays

            looks = args.looks or list(list_overlays())
            results = {}
            print(f"| look | {revision} ms | this tree ms | change |\n| --- | ---: | ---: | ---: |")
            for look in looks:
                before, now = measure(trees, frames, faces, model, look, args.repeats)
                results[look] = {"against_ms": round(before, 3), "this_ms": round(now, 3)}
                print(f"| {look} | {before:.2f} | {now:.2f} | {100.0 * (now - before) / before:+.1f} % |", flush=True)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(other)], check=True)
    if args.json:
        args.json.write_text(json.dumps({"against": revision, "frames": args.frames, "repeats": args.repeats,
                                         "looks": results}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
