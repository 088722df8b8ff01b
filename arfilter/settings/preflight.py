"""The pre-flight: every check ``run`` and ``kiosk`` make at start, made without opening a device.

``arfilter config event.toml`` lists what it finds; ``app.live.build_session``
runs the same function first and stops at the first problem, before the model
loads or a camera, virtual camera, window or socket opens. One function for
both, so a file ``config`` passes never fails at start for a reason ``config``
could have known. What only the machine can answer (is camera 0 plugged in,
is the port free, is there a display) is left to the start itself.

A value from the event file is named ``event.toml: key``; one from a flag by
the flag and its value (``--overlay nope``).
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

from arfilter.core.errors import ArfilterError, first_of
from arfilter.core.outputs import output_problem
from arfilter.settings.config import SINKS, EventConfig

# The flag behind each key, for a value that came from the command line (or a default).
FLAGS = {"source": "--source", "sink": "--sink", "model": "--model", "looks.start": "--overlay",
         "looks.rotation": "--overlay", "controls.web": "--control", "controls.token": "--control-token",
         "stats_json": "--stats-json", "landmarks_out": "--landmarks-out"}

# What `arfilter config --example` prints as stand-ins: never to be shown to a person who may be in danger.
PLACEHOLDER_NUMBER = "0800 123 456"
RESERVED_HOSTS = ("example.org", "example.com", "example.net")  # RFC 2606: they belong to nobody's campaign


def label(config: EventConfig, key: str, value: object) -> str:
    """How a problem names the value: ``event.toml: looks.start`` from the file, ``--overlay nope`` from a flag."""
    origin = config.origin(key)
    if origin and config.path is not None and origin.startswith(f"{config.path}:"):
        return origin
    return f"{FLAGS.get(key, key)} {value}"


def from_file(config: EventConfig, key: str) -> bool:
    """Whether ``key``'s value was set in the event file (not a flag, not a default)."""
    origin = config.origin(key) or ""
    return config.path is not None and origin.startswith(f"{config.path}:")


def preflight_problems(config: EventConfig, kiosk: bool | None = None) -> list[str]:
    """Every problem ``run`` (``kiosk=False``), ``kiosk`` (True) or either (None, for ``config``) would meet
    at start, one line each; nothing is opened but files."""
    problems = [*_look_problems(config), *_source_problems(config), *_campaign_problems(config),
                *_output_problems(config, kiosk), *_model_problems(config), *_panel_problems(config)]
    if kiosk is not False:
        problems += _kiosk_text_problems(config)
    return problems


def preflight(config: EventConfig, kiosk: bool = False) -> None:
    """Raise the first pre-flight problem as one ``ArfilterError`` line (exit 2), before anything opens."""
    problems = preflight_problems(config, kiosk)
    if problems and config.path is not None:
        raise first_of(problems, f"arfilter config {config.path}")
    if problems:  # flags only: each run names the next one
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ArfilterError(problems[0] + more)


# --- looks ---------------------------------------------------------------------------------------

def _look_problems(config: EventConfig) -> Iterator[str]:
    from arfilter.render.packs import check_pack, list_overlays, resolve_overlay

    seen: set[str] = set()
    named = [("looks.start", config.looks.start), *(("looks.rotation", name) for name in config.looks.rotation)]
    for key, name in named:
        if name in seen:
            continue
        seen.add(name)
        try:
            folder = resolve_overlay(name)
        except (ArfilterError, OSError, ValueError):  # OSError: a name too long to even look up as a folder
            close = difflib.get_close_matches(name, list(list_overlays()), n=1)
            guess = f"did you mean {close[0]!r}? " if close else ""
            yield (f"{label(config, key, name)}: no installed look is called {name!r}; {guess}"
                   "'arfilter overlays' lists them (or give a folder holding overlay.toml)")
            continue
        try:
            _overlay, broken = check_pack(folder)
        except (ArfilterError, OSError) as exc:
            broken = [str(exc)]
        if broken:
            yield (f"{label(config, key, name)}: the look {name!r} cannot be loaded ({broken[0]}); "
                   f"'arfilter validate {folder}' lists every problem")


# --- the source ----------------------------------------------------------------------------------

def is_device(spec: str) -> bool:
    """A camera number or a device path: only the start itself can open it."""
    return spec.isdigit() or spec.startswith("/dev/")


def _source_problems(config: EventConfig) -> Iterator[str]:
    from arfilter.io.sources import open_source

    spec = config.source
    if is_device(spec):
        return
    where = label(config, "source", spec)
    path = Path(spec)
    hint = " (a path in the event file is relative to the file)" if from_file(config, "source") else ""
    if not _exists(path):
        yield (f"{where}: no such file or folder{hint}; give a camera number like 0, a video, an image "
               "or a folder of images")
        return
    if not os.access(path, os.R_OK):
        yield f"{where}: cannot be read (permission denied); check its permissions"
        return
    try:
        source = open_source(spec, size=config.size, fps=config.fps, repeat_images=1)  # a file: no device
    except ArfilterError as exc:  # it names the file already; from the event file, the key too
        yield f"{where}: {exc}" if from_file(config, "source") else str(exc)
        return
    source.close()


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name too long, a NUL byte
        return False


# --- the campaign and the kiosk's texts ---------------------------------------------------------

def _campaign_problems(config: EventConfig) -> Iterator[str]:
    campaign = config.campaign
    digits = "".join(char for char in campaign.helpline if char.isdigit())
    if "".join(PLACEHOLDER_NUMBER.split()) in digits:
        yield (f"{label(config, 'campaign.helpline', campaign.helpline)}: still the example's placeholder number "
               f"\"{PLACEHOLDER_NUMBER}\"; put your campaign's real helpline (people in danger may call it)")
    page = "the address you publish the web page at"
    links = {config.web.url: ("web.url", page),  # [web] url standing in for qr_url is named web.url (its origin)
             campaign.qr_url: ("campaign.qr_url", page if campaign.qr_url == config.web.url else
                               "the link to your campaign's help page (people in danger may open it)")}
    for url, (key, what) in links.items():
        host = _host(url)
        if host and any(host == reserved or host.endswith("." + reserved) for reserved in RESERVED_HOSTS):
            yield (f"{label(config, key, url)}: still a placeholder address ({host} is reserved for examples and "
                   f"belongs to no campaign); put {what}")


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def _kiosk_text_problems(config: EventConfig) -> Iterator[str]:
    """The attract screen's title and message must be drawable with the campaign's font (or any font)."""
    from arfilter.draw.fonts import check_font

    for key in ("title", "message"):
        text = getattr(config.kiosk, key)
        if not text:
            continue
        try:
            _path, why = check_font(config.campaign.font, text)
        except (OSError, ValueError, RuntimeError) as exc:  # a font name the system cannot look up
            why = f"the font cannot be looked up ({exc})"
        if why:
            yield f"{label(config, f'kiosk.{key}', repr(text))}: {why}"


# --- files written -------------------------------------------------------------------------------

def _output_problems(config: EventConfig, kiosk: bool | None) -> Iterator[str]:
    source = [] if is_device(config.source) else [config.source]
    if kiosk is not True and config.sink not in SINKS:  # the kiosk draws on its screen, whatever the sink
        why = output_problem(config.sink, inputs=source)
        if why:
            yield f"{label(config, 'sink', config.sink)}: {why}"
    if config.stats_json:
        why = output_problem(config.stats_json, inputs=source)
        if why:
            yield f"{label(config, 'stats_json', config.stats_json)}: {why}"
    if config.landmarks_out:
        why = ("use a file name ending in .npz" if Path(config.landmarks_out).suffix.lower() != ".npz"
               else output_problem(config.landmarks_out, inputs=source))
        if why:
            yield f"{label(config, 'landmarks_out', config.landmarks_out)}: {why}"


# --- the model -----------------------------------------------------------------------------------

def _model_problems(config: EventConfig) -> Iterator[str]:
    """A model the user named must be there and be the face landmarker; the default is fetched at start."""
    import arfilter.tracking.model as face_model

    if not config.model:
        return
    where = label(config, "model", config.model)
    path = Path(os.path.expanduser(config.model))
    if not _exists(path):
        yield (f"{where}: no such file; check the path, or leave the model out to use (and if needed download) "
               f"{face_model.MODEL_FILENAME} automatically")
    elif path.is_dir():
        yield f"{where}: is a folder; give the path of the {face_model.MODEL_FILENAME} file itself"
    else:
        try:
            digest = face_model.sha256_of(path)
        except OSError as exc:
            yield f"{where}: cannot be read ({exc.strerror or exc})"
            return
        if digest != face_model.MODEL_SHA256:
            yield (f"{where}: is not {face_model.MODEL_DESCRIPTION} (checksum mismatch); download it again "
                   f"from {face_model.MODEL_URL}")


# --- the control panel ---------------------------------------------------------------------------

def _panel_problems(config: EventConfig) -> Iterator[str]:
    """The address parses, and anything beyond this computer has a token (no socket is opened here)."""
    from arfilter.operator.webaccess import access_problem, parse_control_address

    web = config.controls.web
    if not web:
        return
    where, token_where = panel_names(config)
    try:
        host, port = parse_control_address(web, where)
    except ArfilterError as exc:
        yield str(exc)
        return
    why = access_problem(host, port, config.controls.token or None, where=where, token_where=token_where)
    if why:
        yield why


def panel_names(config: EventConfig) -> tuple[str, str]:
    """Where the panel's address and its token came from, for messages: a flag, or ``event.toml: controls.web``.
    A token not given at all is asked for where the address was given."""
    where = config.origin("controls.web") or "--control"
    token_where = config.origin("controls.token")
    if token_where is None:
        token_where = f"{config.path}: controls.token" if from_file(config, "controls.web") else "--control-token"
    return where, token_where


__all__ = ["FLAGS", "PLACEHOLDER_NUMBER", "RESERVED_HOSTS", "from_file", "is_device", "label",
           "panel_names", "preflight", "preflight_problems"]
