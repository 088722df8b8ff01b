"""A second connection to the X server, for what OpenCV's window cannot ask for itself (X11 only).

OpenCV's Qt window sometimes misses the X server's first Expose event when it appears on a
screen with no window manager (Xvfb, and kiosks, which often run without one): Qt then never
paints it and the window stays black for good, however many frames are shown (about one start
in ten on this 2-core machine under load). Unmapping and mapping the window again cures it (a
synthetic Expose does not), so ``remap_windows`` does that once, shortly after the window first
shows, and gives the keyboard focus back if the window had it. With a window manager our window is a child of
the manager's frame, not of the root, and nothing is done (nor needed).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_LIB: ctypes.CDLL | None = None
_IGNORE_ERRORS = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(lambda display, error: 0)


def xlib() -> ctypes.CDLL | None:
    """libX11 with the signatures arfilter uses (here and the kiosk's pointer and screen size),
    or None (not X11, or no library). Loaded once."""
    global _LIB
    if _LIB is None and not sys.platform.startswith("win") and sys.platform != "darwin":
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
        except OSError:
            return None
        lib.XOpenDisplay.restype = ctypes.c_void_p
        lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
        lib.XDefaultRootWindow.restype = ctypes.c_ulong
        lib.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        lib.XDefaultScreen.argtypes = [ctypes.c_void_p]
        for name in ("XDisplayWidth", "XDisplayHeight"):
            getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.XFlush.argtypes = [ctypes.c_void_p]
        lib.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong),
                                   ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)),
                                   ctypes.POINTER(ctypes.c_uint)]
        lib.XFetchName.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_char_p)]
        lib.XFree.argtypes = [ctypes.c_void_p]
        for name in ("XSync",):
            getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.XCloseDisplay.argtypes = [ctypes.c_void_p]
        for name in ("XUnmapWindow", "XMapWindow"):
            getattr(lib, name).argtypes = [ctypes.c_void_p, ctypes.c_ulong]
        lib.XGetInputFocus.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_int)]
        lib.XSetInputFocus.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_ulong]
        # A window can vanish between listing and asking; Xlib's default handler would end the process.
        lib.XSetErrorHandler.argtypes = [ctypes.c_void_p]
        lib.XSetErrorHandler(ctypes.cast(_IGNORE_ERRORS, ctypes.c_void_p))
        _LIB = lib
    return _LIB


def _top_level_named(lib: ctypes.CDLL, display: int, title: str) -> list[int]:
    """The root's children whose name is ``title`` (our windows, when no window manager reparents them)."""
    root = lib.XDefaultRootWindow(display)
    root_out, parent_out = ctypes.c_ulong(), ctypes.c_ulong()
    children, count = ctypes.POINTER(ctypes.c_ulong)(), ctypes.c_uint()
    if not lib.XQueryTree(display, root, ctypes.byref(root_out), ctypes.byref(parent_out), ctypes.byref(children),
                          ctypes.byref(count)):
        return []
    found = []
    try:
        for index in range(count.value):
            name = ctypes.c_char_p()
            if lib.XFetchName(display, children[index], ctypes.byref(name)) and name.value is not None:
                if name.value.decode("utf-8", "replace") == title:
                    found.append(int(children[index]))
                lib.XFree(name)
    finally:
        if children:
            lib.XFree(children)
    return found


def remap_windows(title: str) -> int:
    """Unmap and map again each top-level window named ``title``; how many (0 where not X11)."""
    lib = xlib()
    if lib is None:
        return 0
    display = lib.XOpenDisplay(None)
    if not display:
        return 0
    try:
        windows = _top_level_named(lib, display, title)
        focus, revert = ctypes.c_ulong(), ctypes.c_int()
        lib.XGetInputFocus(display, ctypes.byref(focus), ctypes.byref(revert))
        for window in windows:
            lib.XUnmapWindow(display, window)
            lib.XMapWindow(display, window)
        lib.XSync(display, 0)  # mapped again (no window manager to wait for): it can take the focus
        if focus.value in windows:
            lib.XSetInputFocus(display, focus.value, revert.value, 0)
        lib.XSync(display, 0)
        return len(windows)
    finally:
        lib.XCloseDisplay(display)
