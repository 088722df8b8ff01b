"""Event configuration: every option of a live session in one TOML file.

``arfilter run --config event.toml`` and ``arfilter kiosk --config event.toml``
read it; ``arfilter config --example`` prints a commented example and
``arfilter config event.toml`` checks one. Like overlay manifests, a file is
checked as a whole and every problem is listed as ``file: key: reason``;
flags given on the command line win over the file.

``EventConfig`` is the one value a live session is built from (``live.py``):
the command line and the file both become one.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from arfilter.core import limits
from arfilter.core.checks import Check, boolean, choice, key_name, number, optional_string, string, toml_loads
from arfilter.core.errors import first_of
from arfilter.core.framing import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from arfilter.operator.campaign import CampaignOptions, check_campaign
from arfilter.operator.campaign_options import check_link
from arfilter.operator.kiosk import KioskConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

MAX_CONFIG_BYTES = 256 * 1024
DEFAULT_OVERLAY = limits.DEFAULT_OVERLAY
SINKS = limits.SINKS


def _in(span: limits.Range) -> Check:
    """The TOML check for a range declared in ``core.limits``."""
    return number(span.low, span.high, whole=span.whole)


def sink_problem(sink: str) -> str | None:
    """Why ``sink`` is not a sink name or an output file name, or None (the CLI and the file share it)."""
    if sink in SINKS or Path(sink).suffix.lower() in VIDEO_EXTENSIONS + IMAGE_EXTENSIONS:
        return None
    return (f"{sink!r} is not one of {', '.join(SINKS)} or a file name ending in "
            f"{', '.join(VIDEO_EXTENSIONS + IMAGE_EXTENSIONS)}")


@dataclass(frozen=True)
class LooksConfig:
    """Which looks, in what order, how strong, and whether they rotate on their own."""

    start: str = DEFAULT_OVERLAY
    rotation: tuple[str, ...] = ()  # the looks n/p and the timer go through; empty: every installed look
    rotate_every: float = limits.ROTATE_EVERY.default  # seconds; 0: only on a key or from the control panel
    intensity: float = limits.INTENSITY.default


@dataclass(frozen=True)
class TrackingConfig:
    """The stabiliser: One Euro smoothing over the head's motion (see tracking/smoothing.py)."""

    smoothing: bool = True
    smooth_min_cutoff: float = limits.SMOOTH_MIN_CUTOFF.default  # Hz: lower is steadier when still
    smooth_beta: float = limits.SMOOTH_BETA.default  # higher follows fast moves more tightly
    delegate: str = limits.DEFAULT_DELEGATE  # where the face model runs: auto (GPU, else CPU), cpu, gpu


@dataclass(frozen=True)
class ControlsConfig:
    """Operator controls: the local web panel and the on-screen readout."""

    web: str = ""  # "127.0.0.1:8765" starts the control panel; empty: none
    token: str = ""  # needed when web binds beyond this computer
    stats: bool = False  # fps/latency/faces readout on the output from the start
    captions: bool = True  # campaign captions shown from the start


#: Above the panel's QR code when it leads to the web page ([web] url standing in for [campaign] qr_url).
WEB_QR_LABEL = "Try it on your phone"
DEFAULT_WEB_TITLE = "Try the look on your own face"


@dataclass(frozen=True)
class WebConfig:
    """The campaign web page (``arfilter web build``): where it will be published and its title."""

    url: str = ""  # "https://..." the site's public address; the panel's QR leads here when qr_url is not set
    title: str = DEFAULT_WEB_TITLE  # the page's title (browser tab, top of the page)


def _https(value: Any) -> tuple[Any, str | None]:
    """A link a QR code can hold (as ``campaign.qr_url``) on HTTPS: phones give the camera only to those."""
    value, why = check_link(value)
    if why or not value:
        return value, why
    if not value.lower().startswith("https://"):
        return None, (f"{value!r} must start with https:// (phones give a page the camera only over HTTPS); "
                      "publish the site on a host with HTTPS")
    return value, None


def _title(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str) or not value.strip():
        return None, "must be a non-empty string in quotes"
    if len(value) > 100:
        return None, f"is {len(value)} characters long; keep it to 100"
    return value, None


@dataclass(frozen=True)
class EventConfig:
    """Everything a live session needs; defaults are those of ``arfilter run``."""

    source: str = limits.DEFAULT_SOURCE
    sink: str = limits.SINKS[0]
    size: tuple[int, int] = limits.SIZE.default
    fps: float = limits.FPS.default
    mirror: bool = False
    device: str | None = None
    backend: str | None = None
    fallback: str = limits.FALLBACKS[0]
    max_faces: int = int(limits.MAX_FACES.default)
    model: str | None = None
    supervise: bool | None = None  # None: the kiosk is supervised, run is not
    landmarks_out: str | None = None  # every frame's landmarks to a .npz (numbers, never pixels)
    stats_json: str | None = None  # per-stage timings when the session ends
    looks: LooksConfig = field(default_factory=LooksConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    campaign: CampaignOptions = field(default_factory=CampaignOptions)
    controls: ControlsConfig = field(default_factory=ControlsConfig)
    kiosk: KioskConfig = field(default_factory=KioskConfig)
    web: WebConfig = field(default_factory=WebConfig)
    path: Path | None = None  # the file it came from, for messages
    # Where each value that was set came from: "looks.start" -> "--overlay" or "event.toml: looks.start".
    origins: dict[str, str] = field(default_factory=dict, compare=False)

    def origin(self, key: str) -> str | None:
        """Where ``key`` (e.g. ``"controls.web"``) was set, for messages; None for a default."""
        return self.origins.get(key)


# --- checking ---------------------------------------------------------------------

def _size(value: Any) -> tuple[Any, str | None]:
    try:
        return limits.SIZE.parse(value), None
    except ValueError as exc:
        return None, str(exc)


def _source(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value), None
    return string(value)


def _looks_list(value: Any) -> tuple[Any, str | None]:
    if not (isinstance(value, list) and all(isinstance(item, str) and item for item in value)):
        return None, "must be a list of look names in quotes, like [\"black_eye_left\", \"cheek_bruise\"]"
    return tuple(value), None


def _pin(value: Any) -> tuple[Any, str | None]:
    shortest, longest = limits.PIN_DIGITS
    if not isinstance(value, str) or (value and not (value.isdigit() and shortest <= len(value) <= longest)):
        return None, f"must be {shortest} to {longest} digits in quotes (or \"\" for none)"
    return value, None


_TOP: dict[str, Check] = {
    "source": _source, "sink": string, "size": _size, "fps": _in(limits.FPS), "mirror": boolean,
    "device": optional_string, "backend": optional_string, "fallback": choice(*limits.FALLBACKS),
    "max_faces": _in(limits.MAX_FACES), "model": optional_string, "supervise": boolean,
    "landmarks_out": optional_string, "stats_json": optional_string,
}
_SECTIONS: dict[str, tuple[type, dict[str, Check]]] = {
    "looks": (LooksConfig, {"start": string, "rotation": _looks_list, "rotate_every": _in(limits.ROTATE_EVERY),
                            "intensity": _in(limits.INTENSITY)}),
    "tracking": (TrackingConfig, {"smoothing": boolean, "smooth_min_cutoff": _in(limits.SMOOTH_MIN_CUTOFF),
                                  "smooth_beta": _in(limits.SMOOTH_BETA), "delegate": choice(*limits.DELEGATES)}),
    "controls": (ControlsConfig, {"web": string, "token": string, "stats": boolean, "captions": boolean}),
    "kiosk": (KioskConfig, {"clear_after": _in(limits.CLEAR_AFTER),
                            "title": string, "message": string, "quit_hold": _in(limits.QUIT_HOLD), "quit_pin": _pin,
                            "fullscreen": boolean, "hide_cursor": boolean}),
    "web": (WebConfig, {"url": _https, "title": _title}),
}


def _check_table(table: dict, checks: dict[str, Check], where: str, prefix: str,
                 problems: list[str]) -> dict[str, Any]:
    values = {}
    for key in sorted(set(table) - set(checks)):
        if prefix or not (isinstance(table[key], dict) or key in _SECTIONS or key == "campaign"):
            problems.append(f"{where}: {prefix}{key_name(key)}: unknown key; valid keys: {', '.join(sorted(checks))}")
    for key, check in checks.items():
        if key in table:
            value, why = check(table[key])
            if why:
                problems.append(f"{where}: {prefix}{key}: {why}")
            else:
                values[key] = value
    return values


def _exists(path: Path) -> bool:
    """``path.exists()``, False for names the system cannot even look up (too long, a NUL byte)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def check_config(table: dict, where: str, base: Path | None = None) -> tuple[EventConfig | None, list[str]]:
    """An ``EventConfig`` from a parsed TOML table, or None and every problem found.

    ``base``: the folder relative paths (a logo, a video source, the model) are read from.
    """
    problems: list[str] = []
    values = _check_table(table, _TOP, where, "", problems)
    for key in sorted(k for k, v in table.items() if isinstance(v, dict) and k not in _SECTIONS and k != "campaign"):
        problems.append(f"{where}: [{key_name(key)}]: unknown section; valid sections: campaign, {', '.join(_SECTIONS)}")
    sections: dict[str, Any] = {}
    for name, (kind, checks) in _SECTIONS.items():
        section = table.get(name, {})
        if not isinstance(section, dict):
            problems.append(f"{where}: {name}: must be a [{name}] section")
            continue
        sections[name] = kind(**_check_table(section, checks, where, f"{name}.", problems))
    campaign_table = table.get("campaign", {})
    if not isinstance(campaign_table, dict):
        problems.append(f"{where}: campaign: must be a [campaign] section")
        campaign = None
    else:
        if base is not None and isinstance(campaign_table.get("logo"), str):
            campaign_table = {**campaign_table, "logo": str(base / campaign_table["logo"])}
        campaign, campaign_problems = check_campaign(campaign_table, where)
        problems.extend(campaign_problems)
    for key in ("source", "model", "landmarks_out", "stats_json"):  # a file named in the event file is found next to it
        value = values.get(key)
        if isinstance(value, str) and base is not None and not value.isdigit() and not Path(value).is_absolute() \
                and _exists(base / value):
            values[key] = str(base / value)
    if isinstance(values.get("sink"), str):
        why = sink_problem(values["sink"])
        if why:
            problems.append(f"{where}: sink: {why}")
    if problems:
        return None, problems
    origins = {key: f"{where}: {key}" for key in values}
    origins.update({f"{name}.{key}": f"{where}: {name}.{key}" for name in (*_SECTIONS, "campaign")
                    for key in (table.get(name) or {})})
    if sections["web"].url and not campaign.qr_url:  # the panel's QR code leads to the web page
        campaign = replace(campaign, qr_url=sections["web"].url, qr_label=campaign.qr_label or WEB_QR_LABEL)
        origins["campaign.qr_url"] = f"{where}: web.url"
    return EventConfig(**values, **sections, campaign=campaign, path=Path(where), origins=origins), []


def load_config(path: str | Path) -> EventConfig:
    """Read and check an event file; any problem is one ArfilterError line (the first, and how many more)."""
    config, problems = check_config_file(path)
    if config is None:
        raise first_of(problems, f"arfilter config {path}")
    return config


def check_config_file(path: str | Path) -> tuple[EventConfig | None, list[str]]:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            return None, [f"{path}: is larger than {MAX_CONFIG_BYTES // 1024} KB; an event file is a short text file"]
        table = toml_loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, [f"{path}: no such file; write one with: arfilter config --example > {path.name}"]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return None, [f"{path}: cannot be read ({exc})"]
    return check_config(table, str(path), base=path.parent)


def override(config: EventConfig, origins: dict[str, str] | None = None, **changes: Any) -> EventConfig:
    """The config with top-level options or ``section__key`` options replaced (command-line flags);
    ``origins``: where each change came from (``{"looks__start": "--overlay"}``)."""
    top = {key: value for key, value in changes.items() if "__" not in key}
    for section in {key.split("__")[0] for key in changes if "__" in key}:
        own = {key.split("__", 1)[1]: value for key, value in changes.items() if key.startswith(section + "__")}
        top[section] = replace(getattr(config, section), **own)
    named = {key.replace("__", "."): where for key, where in (origins or {}).items() if key in changes}
    return replace(config, **top, origins={**config.origins, **named})


EXAMPLE = '''\
# arfilter event configuration. Use it with:
#   arfilter run --config event.toml      (virtual camera for OBS, Zoom, Meet...)
#   arfilter kiosk --config event.toml    (full-screen exhibition screen)
# Check it with: arfilter config event.toml  (it refuses the placeholder helpline and link
# in [campaign] until you put your campaign's own: people in danger may call or open them)
# Flags on the command line win over this file. Every key is optional.

source = 0                 # camera number, a device (/dev/video2), or a video/image file
sink = "virtualcam"        # virtualcam | window | null | a file (.mp4, .png, ...)
size = "1280x720"          # camera and output size
fps = 30
mirror = false             # flip left-right like a mirror (the kiosk always mirrors)
fallback = "preview"       # if the virtual camera cannot start: "preview" shows a window, "none" stops
max_faces = 2
# device = "/dev/video10"  # which virtual camera (default: the first one)
# model = "face_landmarker.task"   # default: downloaded once to the user cache
# supervise = true         # restart the session if it crashes or hangs (the kiosk's default)
# landmarks_out = "landmarks.npz"  # every frame's landmarks (numbers, never pixels)
# stats_json = "stats.json"        # per-stage timings when the session ends

[looks]
start = "black_eye_left"   # see: arfilter overlays
rotation = ["black_eye_left", "cheek_bruise", "split_lip", "no_more_silence"]   # default: all
rotate_every = 0           # seconds between looks on their own; 0: only by key or control panel
intensity = 1.0            # 0 to 2

[tracking]
smoothing = true           # steady the landmarks so the look does not shiver
smooth_min_cutoff = 0.2    # Hz: lower is steadier when the head is still
smooth_beta = 500          # higher follows fast moves more tightly
delegate = "auto"          # where the face model runs: auto (the GPU if MediaPipe can use one, else the CPU) | cpu | gpu

[campaign]
caption = "#NoMoreSilence: violence at home is never private"
caption_position = "bottom"    # bottom | top
caption_color = "#FFFFFF"
bar_color = "#5B2A86"          # campaign purple
bar_opacity = 0.8
# font = "Noto Sans"           # a family name or a .ttf/.otf/.ttc file; default: one that covers the text
helpline = "Helpline 0800 123 456 (free, 24/7)"   # PLACEHOLDER: put your campaign's real helpline
qr_url = "https://example.org/help"            # PLACEHOLDER: the link to your campaign's help page
panel_position = "top-right"   # top-right | top-left | bottom-right | bottom-left
# logo = "logo.png"            # RGBA PNG, relative to this file

[controls]
web = "127.0.0.1:8765"     # local control panel in a browser; "" for none
# token = "a-long-secret"  # required if web binds beyond this computer (e.g. 0.0.0.0:8765)
stats = false              # fps/latency/faces readout on the output (key: s)
captions = true            # campaign captions on at start (key: c)

[web]
# The campaign web page: 'arfilter web build -o site/ --config event.toml' makes it; publish the folder
# on any host with HTTPS. The panel's QR code leads to it, under "Try it on your phone", when
# [campaign] qr_url is not set (qr_label in [campaign] words it in your language).
# url = "https://nomoresilence.campaign/try"   # where you publish it (https:// only)
title = "Try the look on your own face"        # the page's title

[kiosk]
clear_after = 0.5          # seconds after a visitor leaves before the attract screen replaces them (at most 1)
title = "Step in front of the camera"
message = "See what the No More Silence campaign is about"
quit_hold = 3.0            # hold Esc this many seconds to quit
# quit_pin = "2468"        # or: type these digits and Enter to quit
fullscreen = true
hide_cursor = true
'''
