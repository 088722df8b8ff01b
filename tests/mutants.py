"""Mutation check: deliberate bugs the test suite must catch.

Run: ``.venv/bin/python tests/mutants.py`` (``--list`` shows the mutants, ``-k NAME``
runs those whose name contains NAME or whose number is NAME, ``--no-baseline``
skips the un-mutated run, ``-v`` shows pytest's output). Not a test module:
pytest does not collect it (no ``test_`` prefix), and it never touches the checkout.

Why: a test that passes whatever the code does protects nothing. Each entry
below is one bug someone could plausibly write (culling switched off, the
One Euro filter assuming 30 fps, the zip-slip check removed, ...), stated as
an exact source snippet and its replacement, with the tests that must catch
it. The script takes one snapshot of the repository (``git ls-files`` plus
untracked, non-ignored files, without .venv), checks that the selected tests
pass on it un-mutated (the baseline: otherwise every mutant would look
caught), then, one mutant after another, copies the snapshot to a temporary
folder, applies the edit there and runs those tests with this Python (``-x``:
the first failure is enough). A mutant is *caught* when they fail, *SURVIVED*
when they pass. A snippet that is no longer in the file (or is there more than
once) is an error, never a silent skip: the code moved on, so update the entry.

The copy is imported instead of the checkout's editable install: the copy is
first on ``PYTHONPATH`` (path entries come before the editable finder), and
``arfilter/shaders`` and ``arfilter/overlays`` in the copy link to its
``shaders/`` and ``overlays/`` (the editable install maps those two packages
to the checkout's folders). Before anything runs, ``arfilter`` and every
module a selected mutant edits are imported in the copy and must come from it.
A test that starts Python with an environment of its own (no ``PYTHONPATH``)
would run the checkout's code: give such tests' mutants other tests.

Exit status: 0 when every selected mutant is caught; 1 when one survived or
could not be applied; 2 when the copy would not be imported or the tests fail
even without a mutant.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TIMEOUT_S = 900  # per mutant; the longest set (every real clip) takes about a minute unmutated
# Top-level folders that the editable install maps into the package.
MAPPED = {"shaders": "arfilter/shaders", "overlays": "arfilter/overlays"}


@dataclass(frozen=True)
class Edit:
    """Replace ``find`` (which must occur exactly once) in ``path`` with ``replace``."""

    path: str
    find: str
    replace: str


@dataclass(frozen=True)
class Mutant:
    """One deliberate bug: what it is, how to make it, and which tests must catch it."""

    name: str
    description: str
    edits: tuple[Edit, ...]
    tests: tuple[str, ...]  # pytest arguments: files or node ids


def mutant(name: str, description: str, path: str, find: str, replace: str, tests: tuple[str, ...]) -> Mutant:
    """A mutant of one edit (most are); build a ``Mutant`` directly for several."""
    return Mutant(name, description, (Edit(path, find, replace),), tests)


# To add one: a short, distinctive snippet (one line if possible), a replacement that keeps the
# file importable, and the test files or node ids that mirror the code; check it with -k NAME.
# Entries are numbered in this order; append new ones, so the numbers people quote stay put.
MUTANTS: tuple[Mutant, ...] = (
    # 1-10: the list, in its order.
    mutant("culling-off-renderer", "culling switched off in the renderer: back faces drawn, depth-sorted",
           "arfilter/render/renderer.py",
           "self._triangles, self._front_sign)",
           "self._triangles, self._front_sign, min_area=-np.inf)",
           ("tests/test_render.py",)),  # test_the_renderer_draws_only_triangles_facing_the_camera
    mutant("one-euro-30fps", "the One Euro filter ignores the frame interval (assumes 30 fps)",
           "arfilter/tracking/smoothing.py",
           "raw_speed = (x - self.value) / dt",
           "dt = 1.0 / 30.0; raw_speed = (x - self.value) / dt",
           ("tests/test_smoothing.py",)),
    mutant("bruise-intensity-capped", "bruise intensity capped at 1 (2 looks like 1)",
           "shaders/bruise.py",
           "float(intensity), skin)",
           "min(float(intensity), 1.0), skin)",
           ("tests/test_shaders.py",)),
    mutant("bruise-brightens", "the bruise brightens the skin (highlights given back on top of the skin)",
           "shaders/bruise.py",
           "out = cv2.add(out, ",
           "out = cv2.add(base, ",
           ("tests/test_shaders.py",)),
    mutant("renderer-paints-nothing", "a renderer that paints nothing (real clips end to end)",
           "arfilter/render/renderer.py",
           "region[...] = out",
           "pass",
           ("tests/test_clips.py",)),
    mutant("zip-slip-extract-check", "the installer's check that each file lands inside the pack folder removed",
           "arfilter/ops/zipcheck.py",
           "if root not in target.resolve().parents:",
           "if False:",
           ("tests/test_install.py",)),
    mutant("web-token-unchecked", "the web panel's token check removed",
           "arfilter/operator/webhandler.py",
           " or self._check_token(path, parts.query)",
           "",
           ("tests/test_webcontrol.py::test_with_a_token_every_request_must_carry_it",
            "tests/test_webcontrol.py::test_with_a_token_it_may_listen_on_every_network")),
    mutant("stabilizer-swaps-ids", "the stabiliser swaps the ids of two faces (ids 0 and 1 while both are there)",
           "arfilter/tracking/stabilize.py",
           "face_id=track.face_id,",
           "face_id=(1 - track.face_id) if len(self.tracks) == 2 else track.face_id,",
           ("tests/test_stabilize.py",)),
    mutant("virtualcam-rgb", "the virtual camera is told the frames are RGB (they are BGR)",
           "arfilter/io/virtualcam.py",
           "fmt = pyvirtualcam.PixelFormat.BGR",
           "fmt = pyvirtualcam.PixelFormat.RGB",
           ("tests/test_sinks.py::test_virtual_camera_colours_arrive_in_the_order_the_consumer_reads",)),
    mutant("unavailable-card-blank", "the 'camera unavailable' card's text blanked",
           "arfilter/draw/cards.py",
           "def camera_unavailable_card(",
           "def camera_unavailable_card(size):\n    return card(size, \"\")\n\n\ndef _unused_unavailable_card(",
           ("tests/test_cards.py",)),
    # More, cheap and close to the ones above.
    mutant("culling-off-warp", "culling switched off: every triangle counts as visible (render/kernels.py)",
           "arfilter/render/kernels.py",
           "if area * front_sign > min_area:",
           "if True:",
           # test_warp checks the culling itself: on a rendered face the grazing fade also gives
           # surfaces turned away no paint, so the render test alone no longer sees this mutant.
           ("tests/test_warp.py", "tests/test_render.py")),
    mutant("depth-order-reversed", "triangles drawn near to far: the far cheek covers the nose",
           "arfilter/render/warp.py",
           "np.argsort(-mean_depth, kind=\"stable\")",
           "np.argsort(mean_depth, kind=\"stable\")",
           ("tests/test_warp.py", "tests/test_render.py")),
    mutant("renderer-ignores-face-opacity", "faces fading in or out are painted at full strength",
           "arfilter/render/renderer.py",
           "layer.opacity * opacity * self.intensity",
           "layer.opacity * self.intensity",
           ("tests/test_render.py",)),
    mutant("zip-slip-name-check", "the installer's '..' name check removed",
           "arfilter/ops/zipcheck.py",
           "if \"..\" in re.split(",
           "if False and \"..\" in re.split(",
           ("tests/test_install.py",)),
    Mutant("zip-slip-both-checks", "both zip-slip checks removed: '..' entries unpack outside the pack folder",
           (Edit("arfilter/ops/zipcheck.py", "if \"..\" in re.split(", "if False and \"..\" in re.split("),
            Edit("arfilter/ops/zipcheck.py", "if root not in target.resolve().parents:", "if False:")),
           ("tests/test_install.py",)),
    mutant("web-token-any-cookie", "the web panel accepts any value in its token cookie",
           "arfilter/operator/webaccess.py",
           "if cookie is not None and token_matches(",
           "if cookie is not None or token_matches(",
           ("tests/test_webcontrol.py::test_with_a_token_every_request_must_carry_it",
            "tests/test_webcontrol.py::test_with_a_token_it_may_listen_on_every_network")),
    mutant("web-token-any-value", "the web panel takes any token as the right one",
           "arfilter/operator/webaccess.py",
           "return hmac.compare_digest(offered, token.encode(\"utf-8\"))",
           "return True",
           ("tests/test_webcontrol.py::test_with_a_token_every_request_must_carry_it",)),
    mutant("web-no-token-beyond-loopback", "the web panel listens beyond this computer without a token",
           "arfilter/operator/webaccess.py",
           "if token is None and not is_loopback(host):",
           "if False:",
           ("tests/test_webcontrol.py::test_listening_beyond_this_computer_needs_a_token",)),
    mutant("stabilizer-matches-by-order", "the stabiliser pairs tracks and faces in MediaPipe's order",
           "arfilter/tracking/stabilize.py",
           "pairs = match(",
           "pairs = (lambda tracks, found, _: list(zip(range(len(tracks)), range(len(found)))))(",
           ("tests/test_stabilize.py",)),
    mutant("stabilizer-slow-fades-in", "a face seen in every frame over 250 ms apart counts as back",
           "arfilter/tracking/stabilize.py",
           "faded = previous is not None and previous - track.last_seen > self.hold + opts.fade",
           "faded = previous is not None and now - track.last_seen > opts.hold + opts.fade",
           ("tests/test_stabilize.py",)),
    mutant("virtualcam-swapped-twice", "the virtual camera swaps BGR to RGB and still says BGR",
           "arfilter/io/virtualcam.py",
           "framed = letterbox(image, self.size)",
           "framed = np.ascontiguousarray(letterbox(image, self.size)[:, :, ::-1])",
           ("tests/test_sinks.py::test_virtual_camera_colours_arrive_in_the_order_the_consumer_reads",)),
    mutant("card-text-colours-swapped", "card text pasted in RGB order onto the BGR card",
           "arfilter/draw/cards.py",
           "colour = rgba[:, :, 2::-1]",
           "colour = rgba[:, :, :3]",
           ("tests/test_cards.py",)),
    mutant("card-text-not-pasted", "cards drawn without their text (the paste is a no-op)",
           "arfilter/draw/cards.py",
           "_paste_rgba(image, block, x, y)",
           "pass",
           ("tests/test_cards.py",)),
    mutant("curtain-ignored-on-cards", "the privacy curtain does not cover the 'camera unavailable' card",
           "arfilter/session/present.py",
           "return blank(image.shape) if self.controls.curtain else image",
           "return image",
           ("tests/test_pipeline.py",)),
    mutant("mirror-after-captions", "the picture is mirrored after the captions are drawn: they read backwards",
           "arfilter/session/present.py",
           "output = self.campaign.draw(output, boxes)",
           "output = mirror(self.campaign.draw(mirror(output), boxes))",
           ("tests/test_controls.py",)),
    mutant("supervisor-retries-bad-input", "the supervisor retries bad input (exit 2) for ever, like a lost camera",
           "arfilter/ops/supervisor.py",
           "if code == ExitCode.DEVICE_UNAVAILABLE:",
           "if code in (ExitCode.DEVICE_UNAVAILABLE, ExitCode.BAD_INPUT):",
           ("tests/test_supervisor.py",)),
    mutant("device-error-exits-2", "a missing camera exits 2 (bad input) instead of 3 (device unavailable)",
           "arfilter/core/errors.py",
           "    exit_code = ExitCode.DEVICE_UNAVAILABLE",
           "    exit_code = ExitCode.BAD_INPUT",
           ("tests/test_cli.py::test_bad_input_gets_one_clear_line", "tests/test_config.py")),
    mutant("loop-imports-operator", "the frame loop imports an operator module (the campaign layer)",
           "arfilter/session/loop.py",
           "from arfilter.session.figures import LiveFigures",
           "from arfilter.session.figures import LiveFigures\nimport arfilter.operator.campaign  # noqa",
           ("tests/test_layers.py",)),
    mutant("intensity-range-twice", "the controls keep their own intensity range (0 to 3) instead of core.limits'",
           "arfilter/session/controls.py",
           "why = INTENSITY.why_not(value)",
           "why = None if 0 <= value <= 3 else 'out of range'",
           ("tests/test_controls.py",)),
    # --- issue 12: nothing lost, nothing misleading ---
    mutant("start-skips-preflight", "run/kiosk start without the pre-flight that config runs",
           "arfilter/app/live.py", "    preflight(config, kiosk=kiosk)", "    pass",
           ("tests/test_preflight.py",)),
    mutant("placeholder-helpline-accepted", "the example's placeholder helpline passes config and the start",
           "arfilter/settings/preflight.py", "if \"\".join(PLACEHOLDER_NUMBER.split()) in digits:", "if False:",
           ("tests/test_preflight.py",)),
    mutant("output-links-not-followed", "an output that is a link or hard link to the input is not recognised",
           "arfilter/core/outputs.py", "(_same_file(path, Path(given)) or", "(False or",
           ("tests/test_outputs.py",)),
    mutant("mp4-index-at-the-end", "apply's MP4 has its index at the end (no faststart: browsers wait for all of it)",
           "arfilter/io/encode.py", "container = {\"movflags\": \"+faststart\"}", "container = {}",
           ("tests/test_encode.py",)),
    mutant("live-recording-replaces", "a live recording replaces an existing file of the same name",
           "arfilter/io/sinks.py", "os.link(partial, candidate)", "os.replace(partial, candidate)",
           ("tests/test_encode.py",)),
    mutant("crop-cuts-faces", "--crop only keeps its window in the frame, not the faces in the window",
           "arfilter/session/crop.py",
           "self._centre[axis] = _keep_inside(self._centre[axis], half[axis], low, high, frame[axis], margin)",
           "self._centre[axis] = min(max(self._centre[axis], half[axis]), frame[axis] - half[axis])",
           ("tests/test_crop.py",)),
    mutant("capture-ignores-decoding", "the capture stage times only the wait, not a file's decoding",
           "arfilter/session/loop.py", "stats.add(\"capture\", max(tracked.read_s, frame.decode_s))",
           "stats.add(\"capture\", tracked.read_s)", ("tests/test_sources.py",)),
    mutant("campaign-blind-to-faces", "the campaign layer is drawn without the faces' boxes (it covers faces)",
           "arfilter/session/present.py", "output = self.campaign.draw(output, boxes)",
           "output = self.campaign.draw(output, ())", ("tests/test_campaign_layout.py",)),
    mutant("no-did-you-mean", "a typo gets no suggestion",
           "arfilter/cli/parser.py", "return f\" (did you mean '{close[0]}'?)\" if close else \"\"", "return \"\"",
           ("tests/test_usage.py",)),
    mutant("require-face-ignored", "apply --require-face writes the unchanged photo and exits 0",
           "arfilter/cli/commands.py", "if stats.frames_with_face == 0 and args.require_face:", "if False:",
           ("tests/test_apply_cli.py",)),
    # --- issue 14: the filter costs nothing over the model ---
    mutant("loop-serial-again", "the tracker no longer runs ahead on its own thread (the loop is serial)",
           "arfilter/session/loop.py", "ahead = TrackAhead(frames, tracker) if pipelined else",
           "ahead = TrackInline(frames, tracker) if True else", ("tests/test_pipelined_loop.py",)),
    mutant("stale-prepared-input", "the tracker uses a prepared model input made from another picture",
           "arfilter/tracking/tracker.py", "if isinstance(prepared, Prepared) and prepared.of is frame.image:",
           "if isinstance(prepared, Prepared):", ("tests/test_tracker.py",)),
    mutant("rasteriser-edge-rule", "the compiled rasteriser drops pixel centres lying on a triangle's left edge",
           "arfilter/render/kernels.py", "math.ceil(min(x_long, x_short) - 1e-9)",
           "math.ceil(min(x_long, x_short) + 1e-9)", ("tests/test_kernels.py",)),
    mutant("readout-on-callers-frame", "the readout is drawn on the caller's frame (and a kiosk's kept picture)",
           "arfilter/session/present.py", "in_place=made_here)", "in_place=True)", ("tests/test_controls.py",)),
    mutant("compiled-into-package", "compiled kernels cached whatever the cache folder (numba falls back to the package)",
           "arfilter/core/compiled.py", "JIT = {\"cache\": writable(_CACHE),", "JIT = {\"cache\": True,",
           ("tests/test_kernels.py::test_kernels_are_cached_in_arfilters_folder_or_compiled_in_memory",)),
    mutant("mediapipe-plotting-at-start", "mediapipe is imported with its drawing helpers (matplotlib's pyplot at every start)",
           "arfilter/tracking/native.py", "finder = _RunOnFirstUse(DRAWING_HELPERS)", "finder = _RunOnFirstUse(())",
           ("tests/test_tracker.py::test_a_tracker_starts_without_mediapipes_plotting_which_still_loads_when_used",)),
    mutant("shaders-load-numba", "the bruise shader loads its compiled code on import (every command waits for numba)",
           "shaders/bruise.py", "from ._skin import luma, skin_luma",
           "from ._compiled import age_transmittance  # noqa: F401\nfrom ._skin import luma, skin_luma",
           ("tests/test_layers.py::test_the_command_line_loads_no_compiled_code_until_a_command_draws",)),
    mutant("letterbox-nearest", "letterboxing shrinks by picking pixels (nearest neighbour) instead of bilinear",
           "arfilter/core/framing.py", "cv2.INTER_AREA if area else cv2.INTER_LINEAR",
           "cv2.INTER_AREA if area else cv2.INTER_NEAREST", ("tests/test_framing.py",)),
    mutant("x264-default-threads", "x264 keeps its own 1.5 threads per core",
           "arfilter/io/encode.py", "self.stream.codec_context.thread_count = encoder_threads()", "pass",
           ("tests/test_encode.py::test_x264_runs_one_thread_per_core_this_process_may_use",)),
    mutant("occlusion-look-only", "the occlusion test watches only the look's own skin (fingers beside it unseen)",
           "arfilter/render/renderer.py", "WATCH_MARGIN_UV = 0.04", "WATCH_MARGIN_UV = 0.0",
           ("tests/test_occlusion.py::test_a_hand_over_a_small_look_is_found_by_fingers_beside_it",)),
    mutant("occlusion-mean-skin-only", "brightness judged against the face's mean skin only, not each texel's own",
           "arfilter/render/occlusion_kernels.py", "brightness = min(brightness, max(darker, brighter))", "pass",
           ("tests/test_occlusion.py::test_paint_stays_on_a_squinting_blinking_face",)),
    mutant("occlusion-no-thin-lines", "thin dark lines (strands of hair) are not held back per pixel",
           "arfilter/render/occlusion_kernels.py", "value = max(value, tables[3, blackhat[y, x]])", "pass",
           ("tests/test_occlusion.py::test_dark_strands_of_hair_keep_their_colour",)),
    mutant("occlusion-holes-open", "what a hand encloses (an eye) is not filled, only gaps under 9 texels closed",
           "arfilter/render/hand_outline.py", "filled = cv2.max(closed, outside[1:-1, 1:-1])", "filled = closed",
           ("tests/test_occlusion.py::test_what_a_held_area_encloses_is_held_and_a_palm_holds_its_outline",)),
    mutant("occlusion-texels-not-grey", "the per-texel test does not judge saturation (far greyer than skin)",
           "arfilter/render/occlusion_kernels.py", "out[y, x] = max(max(brightness, hue), grey)",
           "out[y, x] = max(brightness, hue)",
           ("tests/test_occlusion.py::test_a_grey_microphone_is_held_back_on_a_face_of_varied_tone",)),
    mutant("occlusion-no-palm-outline", "a held area a palm smooths is not held to its outline (convex hull)",
           "arfilter/render/hand_outline.py", "cv2.fillConvexPoly(filled, hull, 255)", "pass",
           ("tests/test_occlusion.py::test_what_a_held_area_encloses_is_held_and_a_palm_holds_its_outline",
            "tests/test_occlusion.py::test_what_a_hand_encloses_is_under_it")),
    mutant("skin-memory-edges-learn-near-lines", "the usual edges are learned beside new lines (a strand, a finger gap) too",
           "arfilter/render/memory_kernels.py", "            if lined[y, x] == 0:\n", "            if True:\n",
           ("tests/test_occlusion.py::test_the_memory_sees_no_palm_once_strands_have_left",)),
    mutant("skin-memory-palm-eager", "a third more of the usual edges may remain on what passes for a palm",
           "arfilter/render/skin_memory.py", "SMOOTHED = 0.3 ", "SMOOTHED = 0.4 ",
           ("tests/test_occlusion.py::test_no_crease_of_a_talking_face_passes_for_a_palm",)),
    mutant("skin-memory-palm-speck", "a single smoothed-over texel passes for a palm",
           "arfilter/render/skin_memory.py", "PALM_AREA = 16 ", "PALM_AREA = 1 ",
           ("tests/test_occlusion.py::test_no_crease_of_a_talking_face_passes_for_a_palm",)),
    mutant("skin-memory-no-palm", "edges smoothed over (a palm) are no seeds of the skin's memory",
           "arfilter/render/skin_memory.py",
           "seeds = cv2.bitwise_or(self._off_strand_ends(self._off_dark(seeds, darkest), new_lines), self.palm)",
           "seeds = self._off_strand_ends(self._off_dark(seeds, darkest), new_lines)",
           ("tests/test_occlusion.py::test_a_palm_is_found_by_the_edges_it_smooths_over",)),
    mutant("skin-memory-strands-seed", "strands of hair seed the skin's memory as a hand's gaps do",
           "arfilter/render/skin_memory.py", "unlike_skin = cv2.max(unlike_skin, self.strands)", "pass",
           ("tests/test_occlusion.py::test_strands_are_told_from_a_hands_gaps_by_how_dark_they_are",
            "tests/test_occlusion.py::test_a_cheek_bruise_shows_between_strands_of_hair",
            "tests/test_hair_pass.py")),
    mutant("occlusion-strand-pixels-painted", "paint is not held back on the pixels of strands the memory found",
           "arfilter/render/occlusion_kernels.py", "out[y, x] *= 1 - grown[y, x]", "pass",
           ("tests/test_occlusion.py::test_strands_over_an_eye_are_held_back_and_the_skin_between_keeps_its_paint",)),
    mutant("skin-memory-strands-not-thin", "a broad shadow far darker than the skin passes for a strand",
           "arfilter/render/skin_memory.py", "STRAND_THIN = 0.12", "STRAND_THIN = -1.0",
           ("tests/test_occlusion.py::test_a_broad_shadow_is_no_strand",)),
    mutant("skin-memory-strands-no-hysteresis", "a strand's paler parts are not joined to its deep ones, and seed the memory",
           "arfilter/render/skin_memory.py", "STRAND_LOOSE = 0.5", "STRAND_LOOSE = 0.38",
           ("tests/test_occlusion.py::test_a_strand_paler_along_part_of_it_is_one_strand",)),
    mutant("skin-memory-pale-lines-are-strands", "pale thin lines with no deep part (a hand's gaps) count as strands",
           "arfilter/render/memory_kernels.py", "has_deep[label] > 0 and on_still[label] > 0", "on_still[label] > 0",
           ("tests/test_occlusion.py::test_a_strand_paler_along_part_of_it_is_one_strand",)),
    mutant("skin-memory-old-lines-join-strands", "a line the skin always had (a frame's rim) joins a strand crossing it",
           "arfilter/render/skin_memory.py", "STRAND_NEW = 0.7", "STRAND_NEW = 1e9",
           ("tests/test_occlusion.py::test_a_line_the_skin_always_had_is_not_part_of_a_strand_crossing_it",)),
    mutant("skin-memory-no-darkest-lines", "a hand's thin outline is looked for only in the texels' 3x3 means",
           "arfilter/render/skin_memory.py", "DARKEST_LINE_NEW = 1.3", "DARKEST_LINE_NEW = 1e9",
           ("tests/test_occlusion.py::test_a_hands_thin_outline_is_seen_through_each_texels_darkest_pixel",)),
    mutant("skin-memory-darkest-lines-unconfirmed", "lines through the darkest pixels seed with no sign of them in the means",
           "arfilter/render/skin_memory.py", "LINE_CONFIRMED = 0.5", "LINE_CONFIRMED = -1e9",
           ("tests/test_occlusion.py::test_a_hands_thin_outline_is_seen_through_each_texels_darkest_pixel",)),
    mutant("skin-memory-strands-anywhere", "strands are looked for over the face's own dark features too",
           "arfilter/render/skin_memory.py", "USUALLY_LIT = 0.5", "USUALLY_LIT = 0.0",
           ("tests/test_occlusion.py",)),
    mutant("occlusion-colour-hold-grown-then-faded", "what the colour test holds grows by a texel and the paint fades over that (bare skin beside a cup loses it)",
           "arfilter/render/occlusion.py", "return cv2.min(cv2.blur(clear, (3, 3)), clear)",
           "return cv2.blur(cv2.bitwise_not(cv2.dilate(held, _KERNEL)), (3, 3))",
           ("tests/test_occlusion.py::test_the_skin_right_beside_a_cup_or_microphone_keeps_its_paint",)),
    mutant("occlusion-no-hysteresis-in-space", "texels half over a cup's edge are not held with the texels under it",
           "arfilter/render/memory_kernels.py", "if near == 0 and valid[y, x] != 0 and score[y, x] > leave_above:",
           "if False:",
           ("tests/test_occlusion.py::test_texels_half_over_a_cups_edge_are_held_with_it",)),
    mutant("occlusion-held-in-the-band-for-good", "a texel in the hysteresis' band stays held however usual it looks (the lashes' line, once a cup passed)",
           "arfilter/render/memory_kernels.py", "covered[y, x] != 0 and not usual))", "covered[y, x] != 0))",
           ("tests/test_occlusion.py::test_a_cup_passing_over_the_eye_leaves_nothing_held_behind",)),
    mutant("occlusion-no-bright-lines", "the per-pixel test does not look for thin lines far brighter than both sides (a metal wire)",
           "arfilter/render/occlusion_kernels.py", "bright[y, x] = tables[4, top]  #", "bright[y, x] = 0  #",
           ("tests/test_occlusion.py::test_a_glasses_frame_keeps_its_colour_under_a_black_eye",)),
    mutant("occlusion-bright-lines-under-own", "thin bright lines (a wire catching the light) are painted over the face's own features",
           "arfilter/render/occlusion_pixels.py", "        if wires is not None:  # a wire", "        if False:  # a wire",
           ("tests/test_occlusion.py::test_a_thin_bright_wire_keeps_its_colour_over_the_faces_own_features",)),
    mutant("occlusion-wires-of-any-thickness", "a band of lit skin between a frame and the lid's crease is held as a wire",
           "arfilter/render/occlusion_kernels.py", "and count <= thickest * math.sqrt(", "and 0 <= thickest * math.sqrt(",
           ("tests/test_occlusion_kernels.py::test_a_wire_is_a_long_thin_line_and_a_lit_band_is_not",)),
    mutant("occlusion-grey-against-the-mean-only", "far greyer is judged against the face's mean saturation, not this skin's usual",
           "arfilter/render/occlusion_kernels.py", "            if use_usual and usual[y, x] > 0:", "            if False:",
           ("tests/test_occlusion.py::test_skin_paler_than_the_face_keeps_its_paint_and_a_grey_wire_over_it_keeps_its_colour",)),
    mutant("occlusion-usual-saturation-of-thin-things", "a frame's wire there from the first frame is learned as pale skin",
           "arfilter/render/occlusion.py", "cv2.morphologyEx(share, cv2.MORPH_CLOSE, _KERNEL)", "share",
           ("tests/test_occlusion.py::test_skin_paler_than_the_face_keeps_its_paint_and_a_grey_wire_over_it_keeps_its_colour",)),
    mutant("skin-memory-outlines-only", "the hold is not closed over a finger's width: fingers held along their outlines",
           "arfilter/render/skin_memory.py",
           "held = cv2.bitwise_and(cv2.morphologyEx(held, cv2.MORPH_CLOSE, _FINGER), valid)",
           "pass",
           ("tests/test_fingers.py",)),
    mutant("occlusion-shine-is-own", "a bright broad area from the first frame (a shiny forehead) counts as the face's own feature",
           "arfilter/render/occlusion.py", "cv2.compare(luma, float(skin[0]), cv2.CMP_LE))",
           "cv2.compare(luma, 1e9, cv2.CMP_LE))",
           ("tests/test_occlusion.py::test_a_shiny_forehead_keeps_its_paint_and_strands_over_it_their_colour",
            "tests/test_occlusion.py::test_a_grey_shine_keeps_its_paint_and_grey_strands_over_it_their_colour")),
    mutant("occlusion-shine-not-its-own-reference", "a shine on the first frame gets the skin's mean for its reference",
           "arfilter/render/occlusion.py",
           "trusted |= (luma > float(skin[0])) & (Occlusion._colour_score(ycc, skin, luma) < 128)", "pass",
           ("tests/test_occlusion.py::test_a_shiny_forehead_keeps_its_paint_and_strands_over_it_their_colour",
            "tests/test_occlusion.py::test_a_grey_shine_keeps_its_paint_and_grey_strands_over_it_their_colour")),
    mutant("skin-memory-hold-outlives-the-hand", "a hold stays where the skin looks unlike its memory after the hand's seeds have gone",
           "arfilter/render/skin_memory.py", "            held = _within_budget(held, seeds)\n", "",
           ("tests/test_occlusion.py::test_a_hand_that_has_left_takes_its_hold_with_it",)),
    mutant("usage-reports-go-out", "MediaPipe's usage logger posts to Google (through the user's proxy, if any)",
           "arfilter/tracking/usage_reports.py", "os.putenv(name, NO_UPLOAD_PROXY)", "pass",
           ("tests/test_privacy.py",)),
    mutant("usage-reports-bypass-kept", "a no_proxy naming Google lets MediaPipe's usage reports go straight out",
           "arfilter/tracking/usage_reports.py", "os.unsetenv(name)", "pass",
           ("tests/test_usage_reports.py",)),
    mutant("skin-memory-one-seed-holds", "a crease deepening in a smirk (a few seed texels) holds the cheek as a hand",
           "arfilter/render/skin_memory.py", "SEEDS_LEAST = 6", "SEEDS_LEAST = 1",
           ("tests/test_occlusion.py::test_a_smirk_deepening_a_crease_holds_no_paint_back",)),
    mutant("lit-skin-held-as-bright", "a cheek bunched into the light is held back as a bright cup",
           "arfilter/render/occlusion.py", "LIT_SATURATION = 0.5", "LIT_SATURATION = 99.0",
           ("tests/test_occlusion.py::test_a_cheek_bunched_up_into_the_light_keeps_its_bruise",)),
    mutant("lit-skin-needs-full-saturation", "only skin as saturated as twice the rule asks counts as lit (the kernel)",
           "arfilter/render/occlusion_kernels.py", ">= lit_saturation:", ">= lit_saturation * np.float32(2.0):",
           ("tests/test_occlusion_kernels.py::test_every_compiled_pass_matches_opencv_on_a_real_face",)),
    mutant("to-screen-channels-swapped", "the masks read in one remap come back in the wrong order",
           "arfilter/render/unwrap.py", "        out[index] = seen[channel]\n",
           "        out[index] = seen[len(present) - 1 - channel]\n",
           ("tests/test_unwrap.py::test_all_to_screen_reads_each_array_as_to_screen_does",)),
    mutant("label-counts-skip-columns", "the connected areas' counts miss every seventh column",
           "arfilter/render/labels.py", "            if mask[y, x] != 0:", "            if mask[y, x] != 0 and x % 7 != 3:",
           ("tests/test_kernels.py::test_label_questions_match_numpy_on_a_real_faces_dark_lines",)),
    mutant("light-probe-samples-unspaced", "the light probe's 3x3 samples lie a pixel apart across, whatever the face's size",
           "arfilter/render/kernels.py", "image[cy + dy * step, cx + dx * step, c]", "image[cy + dy * step, cx + dx, c]",
           ("tests/test_kernels.py::test_the_light_probe_samples_match_numpy_on_a_real_face",)),
    mutant("opencv-pool-untouched", "OpenCV keeps a worker per core, taking turns with the model and the decoder",
           "arfilter/render/renderer.py", "cv2.setNumThreads(opencv_threads(usable_cores()))\n", "\n",
           ("tests/test_cores.py",)),
    mutant("opencv-pool-on-every-core", "OpenCV's pool gets every core, the loop's too",
           "arfilter/core/cores.py", "return max(1, cores - LOOP_THREADS)", "return max(1, cores)",
           ("tests/test_cores.py",)),
    mutant("skin-memory-strand-ends-seed", "a strand's pale end, joined to its deep part, seeds the memory like a hand's gap",
           "arfilter/render/memory_kernels.py",
           "end = label != 0 and strand[label] > 0 and strand[label] >= share * line[label]",
           "end = label != 0 and strand[label] < 0",
           ("tests/test_occlusion.py::test_a_strand_fading_out_over_lit_skin_seeds_nothing",)),
    mutant("skin-memory-any-strand-ends-a-line", "a hand's gap touching a stray strand texel is taken for a strand's end",
           "arfilter/render/memory_kernels.py",
           "end = label != 0 and strand[label] > 0 and strand[label] >= share * line[label]",
           "end = label != 0 and strand[label] > 0",
           ("tests/test_occlusion.py::test_a_strand_fading_out_over_lit_skin_seeds_nothing",)),
    mutant("occlusion-any-paler-skin", "far greyer is judged against the usual saturation of any skin paler than the mean",
           "arfilter/render/occlusion.py", "PALE = 0.75", "PALE = 1.0",
           ("tests/test_occlusion.py::test_a_glasses_frame_keeps_its_colour_under_a_black_eye",)),
    mutant("occlusion-thin-lines-at-any-depth", "a short thin line counts wherever it is, not only where it is deep somewhere along it",
           "arfilter/render/occlusion_pixels.py", "line_parts(depth, table, 255, length,", "line_parts(depth, table, 1, length,",
           ("tests/test_occlusion.py::test_wrinkles_under_a_lens_keep_their_paint",
            "tests/test_occlusion_kernels.py::test_a_line_counts_where_it_is_deep_somewhere_along_it_or_long")),
    mutant("occlusion-dark-specks-count", "a deep dark speck shorter than LINE_LENGTH counts as a thin line",
           "arfilter/render/occlusion_pixels.py", "LINE_LENGTH = 4", "LINE_LENGTH = 1",
           ("tests/test_occlusion_kernels.py::test_a_line_counts_where_it_is_deep_somewhere_along_it_or_long",)),
    mutant("occlusion-long-lines-need-depth", "a strand as long as STRAND_LENGTH counts only where it is deep somewhere",
           "arfilter/render/occlusion_pixels.py", "STRAND_LENGTH = 12", "STRAND_LENGTH = 10**6",
           ("tests/test_occlusion.py::test_dark_strands_of_hair_keep_their_colour",
            "tests/test_occlusion_kernels.py::test_a_line_counts_where_it_is_deep_somewhere_along_it_or_long")),
    mutant("occlusion-grey-glints-need-height", "a short grey glint (a nose pad) counts only where it is bright enough somewhere",
           "arfilter/render/occlusion_kernels.py", "if tophat_all[y, x] > top and", "if False and",
           ("tests/test_occlusion.py::test_a_glasses_frame_keeps_its_colour_under_a_black_eye",)),
    mutant("apply-finishes-after-a-lost-sigterm", "a SIGTERM lost in a finaliser lets apply finish and replace the old output",
           "arfilter/cli/commands.py", "        stop_if_terminated()  # inside", "        pass  # inside",
           ("tests/test_usage.py::test_a_sigterm_lost_in_a_finaliser_still_leaves_the_old_output",)),
    mutant("memory-follows-rounding-twice",
           "the memory follows the frame as a plain float32 formula, not as accumulateWeighted rounds",
           "arfilter/render/memory_kernels.py",
           "return np.float32(np.float64(now - usual) * np.float64(rate) + np.float64(usual))",
           "return usual + (now - usual) * rate",
           ("tests/test_memory_kernels.py",)),
    mutant("memory-parts-not-bridged", "a strand's parts are not joined over a one-texel gap",
           "arfilter/render/memory_kernels.py", "                            grown[ny, nx] = True",
           "                            grown[y, x] = True",
           ("tests/test_memory_kernels.py",)),
    mutant("memory-palm-not-eroded",
           "a palm's candidates are every smoothed texel, not those with smoothed texels all round",
           "arfilter/render/memory_kernels.py", "    _erode3(smooth)\n", "\n",
           ("tests/test_memory_kernels.py",)),
    mutant("height-alone-uncovered", "a relief warped from its alpha alone is not weighed by the face's coverage",
           "arfilter/render/renderer.py", "color, alpha = None, cv2.multiply(warped, coverage, scale=scale)",
           "color, alpha = None, warped",
           ("tests/test_relief.py::test_a_relief_warped_from_its_alpha_alone_draws_what_all_four_channels_drew",)),
    mutant("age-steps-truncated", "the bruise's age step table truncates where the division rounded half to even",
           "shaders/_compiled.py", "out[green, a] = min(int(np.rint(np.float32(np.float32(green) * scale) / np.float32(a))), steps)",
           "out[green, a] = min(int(np.float32(np.float32(green) * scale) / np.float32(a)), steps)",
           ("tests/test_kernels.py::test_the_bruise_age_lookup_matches_opencv_for_every_green_and_alpha",)),
    mutant("palm-no-hysteresis", "a palm held the frame before needs the full area again (no PALM_HELD_AREA)",
           "arfilter/render/skin_memory.py", "if cv2.countNonZero(self.held_now) > 0:  # a palm held the frame before",
           "if False:  # a palm held the frame before",
           ("tests/test_occlusion.py::test_a_grainy_palm_over_an_eye_is_still_held",)),
    mutant("rims-not-held", "a rim across the face's own features is found but not held (the kernel's rim pass off)",
           "arfilter/render/occlusion_pixels.py", "_NONE if across is None else across, across is not None, out, bright)",
           "_NONE if across is None else across, False, out, bright)",
           ("tests/test_rims.py", "tests/test_occlusion_kernels.py")),
    mutant("rims-any-length", "any thin dark line away from the lids' edges and brows is a rim, however short",
           "arfilter/render/occlusion_pixels.py", "length = max(math.ceil(RIM_LENGTH * eye_width), 1)",
           "length = 1", ("tests/test_rims.py",)),
    mutant("own-lines-no-eyes", "the face's own lines lie over the brows only, not along the lids' edges",
           "arfilter/render/occlusion_pixels.py",
           "_OUTLINES = (LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR, LEFT_BROW_CONTOUR, RIGHT_BROW_CONTOUR)",
           "_OUTLINES = (LEFT_BROW_CONTOUR, RIGHT_BROW_CONTOUR)", ("tests/test_rims.py",)),
    mutant("rims-whole-face", "rims are looked for over the whole face, not only over the upper lids",
           "arfilter/render/occlusion_pixels.py", "zone = np.full(shape, 255, np.uint8)",
           "zone = np.zeros(shape, np.uint8)",
           ("tests/test_rims.py",)),
    mutant("rims-not-whole", "a rim's stretch beside a shadow is not held: only the rims the thin lines find",
           "arfilter/render/occlusion_pixels.py", "        across = whole_rims(across, y, tables[3], own_lines)",
           "        across = across", ("tests/test_rims.py",)),
    mutant("whole-rims-unjoined", "every wide line over the upper lids is held once a rim is found, joined or not",
           "arfilter/render/occlusion_pixels.py", "line_parts(marks, _JOINED, 255, 1,",
           "line_parts(marks, _JOINED, 1, 1,", ("tests/test_rims.py", "tests/test_occlusion_kernels.py")),
    mutant("own-lines-zone-unreached", "the face's own lines' zone is never skipped: drawn for a jaw's region too",
           "arfilter/render/occlusion_pixels.py",
           "return bool(high[0] >= 0 and high[1] >= 0 and low[0] < shape[1] and low[1] < shape[0])", "return True",
           ("tests/test_rims.py",)),
    mutant("facing-alone-unlike-view", "without the occlusion test, the box's facing is read from the wrong frame size",
           "arfilter/render/unwrap.py", "return self._positions(points, facing, shown, frame_size)[2]",
           "return self._positions(points, facing, shown, (frame_size[0] // 2, frame_size[1]))[2]",
           ("tests/test_unwrap.py",)),
    mutant("make-up-any-chroma", "strong make-up's whole score stays usual whatever covers it (no chroma range)",
           "arfilter/render/occlusion.py", "same = cv2.inRange(look, lower, upper)",
           "same = np.full(strong.shape, 255, np.uint8)", ("tests/test_make_up.py",)),
    mutant("make-up-greys-too", "grey broad features on moving skin (brows, sockets) count as strong make-up too",
           "arfilter/render/occlusion.py", "strong = cv2.bitwise_and(strong, cv2.bitwise_not(cv2.max(grey, skin_hue)))",
           "strong = strong", ("tests/test_make_up.py", "tests/test_occlusion.py")),
    mutant("stabilizer-hold-in-seconds-only", "a missed face is held 100 ms however slow the device's frames are",
           "arfilter/tracking/stabilize.py", "max(opts.hold, opts.hold_frames * self._interval)", "opts.hold",
           ("tests/test_stabilize.py",)),
    mutant("page-hold-in-seconds-only", "the page holds a missed face 100 ms however slow the phone's frames are",
           "arfilter/web/site/app/track/smoothing.js", "Math.max(o.hold, o.holdFrames * this.interval)", "o.hold",
           ("tests/web/test_web_smoothing.py",)),
    mutant("seeds-beside-strands-over-dim-skin", "a seed beside a pixel too dark for a shadow of the skin still seeds",
           "arfilter/render/skin_memory.py", "self._off_strand_ends(self._off_dark(seeds, darkest), new_lines)",
           "self._off_strand_ends(seeds, new_lines)", ("tests/test_hair_pass.py",)),
    mutant("render-cpu-is-wall", "the render stage's CPU figure is its wall time (waits for a core included)",
           "arfilter/session/loop.py", 'stats.add_cpu("render", cpu_clock() - cpu_started)',
           'stats.add_cpu("render", clock() - smoothed)', ("tests/test_pipeline.py",)),
    mutant("page-start-listens-late", "the page's Start button listens only once its files have loaded",
           "arfilter/web/site/app/main.js",
           'if (!missing) $("start").addEventListener("click", () => (live ? reopen(live) : startWhenLoaded(loaded)));',
           'loaded.then(() => !missing && $("start").addEventListener("click", () => (live ? reopen(live) : '
           'startWhenLoaded(loaded))));', ("tests/web/test_web_page.py::test_a_tap_before_the_page_has_loaded_starts_the_camera_once_it_has",)),
    mutant("pixel-test-every-other-pixel", "the per-pixel occlusion test reads a webcam's face on every second pixel",
           "arfilter/render/renderer.py", "raster_step(face_width, PIXEL_TEST_PX) if", "map_step if",
           ("tests/test_occlusion.py::test_a_strand_on_a_webcam_sized_face_holds_its_own_pixels_and_no_band_of_skin",)),
)


# --- running ------------------------------------------------------------------------------


def repo_files(repo: Path) -> list[str]:
    """Tracked files and untracked ones git does not ignore (what a commit could hold), minus .venv."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=repo,
                            check=True, capture_output=True).stdout.decode("utf-8", "surrogateescape")
    names = sorted({name for name in listed.split("\0") if name})
    return [name for name in names if not name.startswith(".venv/") and (repo / name).is_file()]


def snapshot(files: list[str], source: Path, target: Path) -> None:
    """``files`` copied under ``target``, with the package mapping as links: taken once, so the baseline
    and every mutant see the same code while others keep editing the checkout."""
    for name in files:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / name, destination)
    for folder, inside in MAPPED.items():
        link = target / inside
        if (target / folder).is_dir() and not link.exists():
            link.symlink_to(Path("..") / folder, target_is_directory=True)


def working_copy(snapshot_root: Path, temp: str) -> Path:
    """A fresh copy of the snapshot to mutate, with ``shared`` beside it as the tests expect."""
    root = Path(temp) / "repo"
    shutil.copytree(snapshot_root, root, symlinks=True)
    if SHARED.exists():
        (root.parent / "shared").symlink_to(SHARED, target_is_directory=True)
    return root


def apply(edits: tuple[Edit, ...], root: Path) -> str | None:
    """Apply ``edits`` under ``root``; why one cannot be applied, or None."""
    for edit in edits:
        path = root / edit.path
        if not path.is_file():
            return f"{edit.path} does not exist"
        text = path.read_text(encoding="utf-8")
        count = text.count(edit.find)
        if count != 1:
            where = "not found" if count == 0 else f"found {count} times"
            return f"snippet {edit.find!r} {where} in {edit.path}"
        path.write_text(text.replace(edit.find, edit.replace), encoding="utf-8")
    return None


def environment(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no stale .pyc of an edited file, nothing written to the copy
    if (SHARED / "models" / "face_landmarker.task").is_file():
        env.setdefault("ARFILTER_MODEL", str(SHARED / "models" / "face_landmarker.task"))
    return env


def module_name(path: str) -> str | None:
    """The module a repository file is imported as, if it is one."""
    if not path.endswith(".py"):
        return None
    parts = Path(path).with_suffix("").parts
    if parts[0] in MAPPED:
        parts = tuple(MAPPED[parts[0]].split("/")) + parts[1:]
    if parts[0] != "arfilter":
        return None
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def check_imports(root: Path, modules: list[str]) -> str | None:
    """Why the copy's modules would not be the ones imported, or None."""
    code = ("import importlib, os, sys\n"
            "root = os.path.realpath(sys.argv[1])\n"
            "for name in sys.argv[2:]:\n"
            "    where = os.path.realpath(importlib.import_module(name).__file__)\n"
            "    if not where.startswith(root + os.sep):\n"
            "        print(f'{name} comes from {where}, not from the copy {root}')\n")
    result = subprocess.run([sys.executable, "-c", code, str(root), *modules], cwd=root, env=environment(root),
                            capture_output=True, text=True, timeout=300)
    problem = (result.stdout + result.stderr).strip()
    return problem or None


def run_tests(root: Path, tests: tuple[str, ...]) -> tuple[int | None, str]:
    """pytest's exit code (None: timed out) and its output's tail."""
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    try:
        result = subprocess.run(command, cwd=root, env=environment(root), capture_output=True, text=True,
                                timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout.decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return None, output[-3000:]
    return result.returncode, (result.stdout + result.stderr)[-3000:]


def outcome(code: int | None) -> str:
    """caught (a test failed), SURVIVED (all passed), or why the run says nothing."""
    if code is None:
        return "caught (timed out)"  # a hang is noticed too; counted as caught, as mutation tools do
    return {0: "SURVIVED", 1: "caught"}.get(code, f"error (pytest exit {code})")


def run_one(index: int, item: Mutant, snapshot_root: Path, verbose: bool) -> bool:
    """Apply one mutant to a fresh copy, run its tests, print one line; whether it was caught."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="arfilter-mutant-") as temp:
        root = working_copy(snapshot_root, temp)
        problem = apply(item.edits, root)
        if problem is not None:
            status, tail = f"cannot apply: mutant {index} no longer applies: update it ({problem})", ""
        else:
            code, tail = run_tests(root, item.tests)
            status = outcome(code)
    seconds = time.monotonic() - start
    print(f"{index:>2} {item.name:<30} {status:<20} {seconds:6.1f} s  {item.description}", flush=True)
    if tail and (verbose or status.startswith("error")):
        print("   | " + "\n   | ".join(tail.strip().splitlines()[-25:]), flush=True)
    return status.startswith("caught")


def baseline(selected: list[tuple[int, Mutant]], snapshot_root: Path, run: bool) -> bool:
    """The copy's modules are the ones imported, and (with ``run``) the selected tests pass un-mutated."""
    tests = tuple(dict.fromkeys(test for _, item in selected for test in item.tests))
    edited = {module_name(edit.path) for _, item in selected for edit in item.edits}
    modules = sorted({"arfilter"} | edited - {None})
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="arfilter-mutant-") as temp:
        root = working_copy(snapshot_root, temp)
        problem = check_imports(root, modules)
        if problem is not None:
            print(f"the copy is not what gets imported, so no mutant would be tested: {problem}")
            return False
        if run and tests:
            code, tail = run_tests(root, tests)
            if code != 0:
                print(f"baseline: the tests fail without any mutant (pytest exit {code}); fix them first:")
                print("   | " + "\n   | ".join(tail.strip().splitlines()[-25:]))
                return False
    status = "passes" if run else "not run"
    print(f" 0 {'(no mutant: baseline)':<30} {status:<20} {time.monotonic() - start:6.1f} s  "
          f"{len(tests)} test targets; {len(modules)} edited modules import from the copy", flush=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Apply each deliberate bug and check the tests catch it.")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("-k", dest="names", action="append", default=[],
                        help="run only mutants whose name contains NAME or whose number is NAME (repeatable)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the un-mutated run of the tests")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the tail of pytest's output")
    args = parser.parse_args(argv)
    numbered = list(enumerate(MUTANTS, start=1))
    selected = [(i, m) for i, m in numbered
                if not args.names or any(k == str(i) or k in m.name for k in args.names)]
    if args.list:
        for index, item in selected:
            print(f"{index:>2} {item.name:<30} {item.description}")
            for edit in item.edits:
                print(f"   {edit.path}: {edit.find!r} -> {edit.replace!r}")
            print(f"   tests: {' '.join(item.tests)}")
        return 0
    if not selected:
        print(f"no mutant matches {' '.join(args.names)}; see --list")
        return 1
    with tempfile.TemporaryDirectory(prefix="arfilter-mutants-") as temp:
        snapshot_root = Path(temp) / "snapshot"
        snapshot(repo_files(REPO), REPO, snapshot_root)
        if not baseline(selected, snapshot_root, run=not args.no_baseline):
            return 2
        caught = [run_one(index, item, snapshot_root, args.verbose) for index, item in selected]
    missed = len(caught) - sum(caught)
    print(f"{len(caught)} mutants: {sum(caught)} caught, {missed} not caught")
    return 0 if missed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
