"""Types, errors, limits, value checks and paths: everything else stands on these; imports nothing of arfilter."""
