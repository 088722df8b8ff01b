"""The one validated settings value a session is built from, and the event file that fills it."""
