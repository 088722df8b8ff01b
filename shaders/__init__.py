"""Blend programs: how a warped overlay layer combines with the skin under it.

Every shader is a module with a pure function of one signature::

    blend(base, color, alpha, **params) -> image

and a ``PARAMS`` table declaring the numbers a manifest may set. ``base``,
``color`` and ``alpha`` are uint8 arrays of shape (h, w, 3) over the face
region only: ``base`` is the frame (BGR), ``color`` the warped layer's colour
premultiplied by its alpha, and ``alpha`` the layer's coverage times its
opacity (0-255, repeated in each channel). The result is a new uint8 BGR
array; where alpha is 0 it is ``base`` bit for bit. A module's ``REACH`` says how
far around a pixel its result depends on the inputs (see :attr:`Shader.reach`); ``READS_COLOUR = False``
that it reads only the alpha (see :attr:`Shader.reads_colour`). Simple shaders use
OpenCV's saturating uint8 arithmetic (about four times faster than numpy
float32 here); the others compute in float32 on the region only.
Shaders are looked up by name with :func:`get_shader`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np

from . import bruise, multiply, normal, overlay, paint, relief, screen, soft_light
from .params import Param

Blend = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Shader:
    """A blend function with its declared parameters."""

    name: str
    blend: Blend
    params: Mapping[str, Param] = field(default_factory=dict)
    # What the renderer passes besides the layer, by keyword: "skin" (the face's skin
    # brightness, 0-1), "light" (the light on this face, arfilter.core.types.Light or None)
    # "texel_px" (screen pixels per texel of the layer's full-size texture, the same at every mip level)
    # and "coverage" ((h, w) uint8: how much of each pixel the face covers, already in ``alpha``).
    needs: frozenset[str] = frozenset()
    # How far (pixels) a pixel's result depends on the layer and skin around it, given "skin" (the face's,
    # not the layer's): a renderer may then blend only a window around the layer's paint (alpha or colour
    # above 0), grown by it. None: the result depends on the whole region (a mean under the layer).
    reach: int | None = None
    # False: the shader reads only the layer's alpha (a height map), and the renderer passes it as (h, w)
    # with ``color`` None: one channel warped and weighted instead of four, nothing converted.
    reads_colour: bool = True

    @property
    def uses_skin(self) -> bool:
        return "skin" in self.needs

    def __call__(self, base: np.ndarray, color: np.ndarray, alpha: np.ndarray, **params: float) -> np.ndarray:
        return self.blend(base, color, alpha, **params)

    def problems(self, params: Mapping[str, Any]) -> list[str]:
        """Why ``params`` cannot be given to this shader (one entry per problem)."""
        found = []
        for key, value in params.items():
            spec = self.params.get(key)
            if spec is None:
                valid = ", ".join(sorted(self.params)) or "none"
                found.append(f"{key!r} is not a parameter of shader {self.name!r}; valid parameters: {valid}")
            elif (why := spec.check(value)) is not None:
                found.append(f"{key} {why}")
        return found

    def bind(self, params: Mapping[str, float]) -> Blend:
        """``blend`` with these (already validated) parameters fixed, for the per-frame path."""
        return partial(self.blend, **{key: float(value) for key, value in params.items()}) if params else self.blend


def _register(*modules: Any) -> Mapping[str, Shader]:
    table = {}
    for module in modules:
        name = module.__name__.rsplit(".", 1)[-1]
        needs = set(getattr(module, "NEEDS", ()))
        if getattr(module, "USES_SKIN", False):
            needs.add("skin")
        table[name] = Shader(name, module.blend, MappingProxyType(dict(module.PARAMS)), frozenset(needs),
                             getattr(module, "REACH", None), getattr(module, "READS_COLOUR", True))
    return MappingProxyType(table)


SHADERS: Mapping[str, Shader] = _register(normal, multiply, screen, overlay, soft_light, bruise, paint, relief)


def load_compiled() -> None:
    """Load the shaders' compiled code now, not at the first frame that needs it (half a second; seconds
    the first time on a machine). The renderer calls it when it is imported; importing the shaders alone
    (a manifest checked, ``arfilter --help``) does not load it."""
    import importlib

    importlib.import_module(f"{__name__}._compiled")


def get_shader(name: str) -> Shader:
    """The shader called ``name``; a ValueError lists the valid names otherwise."""
    try:
        return SHADERS[name]
    except KeyError:
        raise ValueError(f"unknown shader {name!r}; valid shaders: {', '.join(sorted(SHADERS))}") from None


__all__ = ["SHADERS", "Param", "Shader", "get_shader", "load_compiled"]
