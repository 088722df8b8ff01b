"""Doctor's tracking row: where ``arfilter run`` will run the face model (``--delegate auto``).

MediaPipe's GPU delegate is tried in a child process, exactly as the tracker
tries it (create, then one blank frame). Every failure seen so far raises
(no EGL: "Unable to initialize EGL"; a software renderer only: "GPU emulation
detected"; Windows: NotImplementedError), so ``run`` tries it in-process; but a
GPU driver is native code that could abort instead on some machine, and the
report must come out whatever happens, so doctor asks at arm's length. The row
is never a failure: ``auto`` falls back to the CPU, which always works.
"""

from __future__ import annotations

import sys

from arfilter.ops.doctor_system import Check, System

PROBE = ("import sys; from arfilter.tracking.tracker import gpu_problem; "
         "print(gpu_problem(sys.argv[1]) or 'gpu')")
PROBE_TIMEOUT = 120.0  # seconds: loading mediapipe and compiling GPU shaders can be slow the first time


def check_tracking(system: System, model: Check) -> Check:
    """The delegate ``run`` will use, and why not the GPU; needs the model the model row found."""
    path = model.details.get("path") if model.status == "ok" else None
    if not path:
        return Check("tracking", "ok", "cpu (the GPU delegate is checked once the model is there)", "",
                     {"delegate": "cpu", "gpu_problem": "not checked: no model"})
    code, out = system.run([sys.executable, "-c", PROBE, str(path)], timeout=PROBE_TIMEOUT)
    lines = out.strip().splitlines()
    answer = lines[-1].strip() if lines else ""
    if code == 0 and answer == "gpu":
        return Check("tracking", "ok", "gpu", "", {"delegate": "gpu"})
    if code == 0 and answer:
        reason = answer
    elif code == 124:
        reason = "the GPU check did not finish in time"
    elif code < 0:
        reason = f"the GPU check crashed (signal {-code})"
    else:
        reason = f"the GPU check could not run (exit code {code})"
    return Check("tracking", "ok", f"cpu (GPU delegate unavailable: {reason})", "",
                 {"delegate": "cpu", "gpu_problem": reason})
