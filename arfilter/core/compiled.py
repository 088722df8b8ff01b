"""How arfilter compiles its few hot loops (numba): one place for the options and the cache folder.

Kernels are compiled for fixed argument types when their module is imported (so a first frame never
waits for a compiler; a machine's first import takes a few seconds, later ones load the cache), and
cached in arfilter's own cache folder (``compiled/`` beside the face model, ``$ARFILTER_CACHE_DIR``
included), never inside the installed package; ``$NUMBA_CACHE_DIR``, when set, wins. ``nogil``: the
frame loop's other threads keep running while one is in a kernel. Where that folder cannot be written
(a read-only home at a kiosk), kernels are compiled in memory at every start instead (a few seconds
more), rather than numba failing the import.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from numba.core import config as numba_config

from arfilter.core.paths import user_cache_dir


def writable(folder: Path) -> bool:
    """Whether ``folder`` can be made and written (numba's own test, without leaving anything)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
        return True
    except OSError:
        return False


_CACHE = Path(os.environ.get("NUMBA_CACHE_DIR") or user_cache_dir() / "compiled")
numba_config.CACHE_DIR = str(_CACHE)  # read by each kernel's cache as it is decorated
JIT = {"cache": writable(_CACHE), "nogil": True, "error_model": "numpy"}


def arg(values: np.ndarray, dtype: type) -> np.ndarray:
    """``values`` as a kernel's signature takes it: C-ordered, writable (a read-only array, as a frozen
    landmark array is, matches none), in ``dtype``; the array itself when it already is, else a copy.
    Most already are: that is checked first (``np.require`` takes ~4 us, eighteen times a face)."""
    if isinstance(values, np.ndarray) and values.dtype == dtype:
        if values.flags.c_contiguous and values.flags.writeable:
            return values
    return np.require(values, dtype=dtype, requirements=("C", "W"))
