"""The arfilter command: flags become settings; exit codes follow the contract."""

from arfilter.cli.main import main

__all__ = ["main"]
