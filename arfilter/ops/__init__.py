"""Keeping it running and ready: supervisor, doctor, pack install."""
