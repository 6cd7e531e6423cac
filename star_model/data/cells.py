"""Text cells that a spreadsheet opens safely.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, a tab or a
carriage return) as a formula. Every CSV/TSV writer of this project passes its text cells (labels,
file names, column names) through :func:`neutralise`, which puts a ``'`` in front of such a cell;
the readers pass them through :func:`restore`, which takes that ``'`` off again, so a label such as
``-turn`` survives a round trip unchanged. Numbers are written as numbers and never neutralised.
"""
from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """``text`` as a cell a spreadsheet shows as text: a leading formula character gets a ``'`` before it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def restore(text: str) -> str:
    """The text a :func:`neutralise`-d cell stood for."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_STARTS) else text
