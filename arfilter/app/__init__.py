"""The composition root: one function builds a live session from a settings value."""
