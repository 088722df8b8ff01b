"""Mesh warping, looks and overlay packs: pure computation on arrays."""
