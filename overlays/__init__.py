"""Overlay packs that ship with arfilter: one folder each, with overlay.toml and RGBA textures."""
