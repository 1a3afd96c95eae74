"""Glue for the command line: the ``nbrepro`` commands, their rendering, the demo.

``nbrepro.cli:main`` is the console script's entry point.
"""

from nbrepro.cli.commands import main

__all__ = ["main"]
