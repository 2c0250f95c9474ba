"""``python -m flowhook``: the same command line as ``flowhook``."""

from flowhook.cli import app

app()
