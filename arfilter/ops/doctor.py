"""``arfilter doctor``: check what ``arfilter run`` needs, and say how to fix what is missing.

The people who set up a campaign booth are not engineers, so every problem
comes with one plain line of advice holding the exact command or click.
Five checks: a webcam, the virtual camera for this OS, the face model, a
display (only needed for the preview window and kiosk), and whether the face
model will run on the GPU or the CPU.

All OS access goes through one :class:`~arfilter.ops.doctor_system.System`
object so each OS state can be faked in tests. The checks live one per device
(``doctor_camera``, ``doctor_virtualcam``, ``doctor_model``); this module runs
them and formats the report.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable, Sequence

import arfilter.tracking.model as face_model
from arfilter.ops.doctor_camera import check_camera, parse_v4l2_modes
from arfilter.ops.doctor_model import check_display, check_model
from arfilter.ops.doctor_system import STATUSES, Check, System, one_line
from arfilter.ops.doctor_tracking import check_tracking
from arfilter.ops.doctor_virtualcam import check_virtual_camera

# Kept importable from here: the CLI and the tests name them as ``arfilter.ops.doctor.X``.
__all__ = [
    "PRIORITY", "STATUSES", "TARGETS", "Check", "System", "add_doctor_arguments", "blocking", "check_camera",
    "check_display", "check_model", "check_tracking", "check_virtual_camera", "checks_to_json", "cmd_doctor",
    "format_table", "parse_v4l2_modes", "ready", "run_checks",
]

TARGETS = ("virtualcam", "window", "kiosk")
FIX_BUG = "this is a bug in arfilter doctor; please report this line"


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    """Run one check; if it breaks, the report shows a fail row instead of a traceback."""
    try:
        return check()
    except Exception as exc:  # a bug or an OS surprise: report it, keep the other checks
        return Check(name, "fail", f"the check itself failed: {type(exc).__name__}: {one_line(str(exc))}",
                     FIX_BUG, {"error": repr(exc)})


def _only_for_virtualcam(check: Check) -> Check:
    """A window or kiosk does not need the virtual camera: its problems become warnings."""
    if check.status != "fail":
        return check
    return replace(check, status="warn", summary=f"{check.summary} (only needed for the virtual camera)")


def run_checks(system: System | None = None, *, target: str = "virtualcam", model: str | Path | None = None,
               expected_sha256: str = face_model.MODEL_SHA256) -> list[Check]:
    """Every check, in the order a user fixes them: camera, virtual camera, model, display; then
    where tracking will run (never a failure: the CPU always works)."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, not {target!r}")
    system = System() if system is None else system
    checks = [
        _guarded("camera", lambda: check_camera(system)),
        _guarded("virtual camera", lambda: check_virtual_camera(system)),
        _guarded("model", lambda: check_model(system, model, expected_sha256=expected_sha256)),
        _guarded("display", lambda: check_display(system, target)),
    ]
    checks.append(_guarded("tracking", lambda: check_tracking(system, checks[2])))  # needs the model's row
    if target != "virtualcam":
        checks[1] = _only_for_virtualcam(checks[1])
    return checks


def ready(checks: Sequence[Check]) -> bool:
    """Whether ``arfilter run`` can work: nothing it needs failed.

    Warnings do not block: a model that is not downloaded yet will be on the
    first run (one that cannot be downloaded is a fail), exclusive_caps off still
    works in Zoom and OBS, and a missing display or virtual camera are warnings
    only when the target does not need them.
    """
    return all(check.status != "fail" for check in checks)


# Without the model nothing runs at all, so it is named first; then what the picture comes from and goes to.
PRIORITY = ("model", "camera", "virtual camera", "display", "tracking")


def blocking(checks: Sequence[Check]) -> list[Check]:
    """The failed checks, the most important first (the one to fix before the others matter)."""
    failed = [check for check in checks if check.status == "fail"]
    return sorted(failed, key=lambda check: PRIORITY.index(check.name) if check.name in PRIORITY else len(PRIORITY))


def format_table(checks: Sequence[Check]) -> str:
    """Aligned rows (check, OK/WARN/FAIL, what was found), the fix indented below each problem."""
    name_width = max([len("check"), *(len(check.name) for check in checks)])
    status_width = len("status")
    lines = [f"{'check':<{name_width}}  {'status':<{status_width}}  summary"]
    indent = " " * (name_width + status_width + 4)
    for check in checks:
        lines.append(f"{check.name:<{name_width}}  {check.status.upper():<{status_width}}  {check.summary}")
        if check.status != "ok" and check.fix:
            lines.append(f"{indent}fix: {check.fix}")
    lines.append("")
    if ready(checks):
        lines.append("Ready: arfilter run can start." if all(c.status == "ok" for c in checks)
                     else "Ready: arfilter run can start (see the warnings above).")
    else:
        first, *rest = blocking(checks)
        more = f" (and {len(rest)} more FAIL line{'s' if len(rest) > 1 else ''} above)" if rest else ""
        lines.append(f"Not ready: {first.name}: {first.summary}{more}; fix the FAIL lines above, "
                     "then run arfilter doctor again.")
    return "\n".join(lines)


def checks_to_json(checks: Sequence[Check]) -> str:
    """The report for scripts: {"ready": bool, "blocking": [the failed checks' names, most important first],
    "checks": [{name, status, summary, fix, details}]}."""
    return json.dumps({"ready": ready(checks), "blocking": [check.name for check in blocking(checks)],
                       "checks": [asdict(check) for check in checks]},
                      indent=2, default=str)


def add_doctor_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``arfilter doctor``."""
    parser.add_argument("--json", action="store_true", help="print the report as JSON (for scripts)")
    parser.add_argument("--for", dest="for_", choices=TARGETS, default="virtualcam",
                        help="what you will run: virtualcam (default), window or kiosk; "
                             "decides whether a missing display or virtual camera blocks")
    parser.add_argument("--model", help="face_landmarker.task to check (default: $ARFILTER_MODEL, else the cache)")


def cmd_doctor(args: argparse.Namespace, system: System | None = None) -> int:
    """Print the report (table or JSON); 0 only when ``arfilter run`` can work."""
    target = getattr(args, "for_", None) or "virtualcam"
    checks = run_checks(system, target=target, model=getattr(args, "model", None))
    print(checks_to_json(checks) if getattr(args, "json", False) else format_table(checks))
    return 0 if ready(checks) else 1
