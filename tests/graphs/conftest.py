"""The drawing tests run the real Graphviz ``dot`` (see support/graphviz.py)."""

from support.graphviz import dot_command

__all__ = ["dot_command"]
