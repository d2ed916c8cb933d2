"""The `apishield` command: wiring of sources, engine, store and reports, nothing more.

One module per group of commands; each registers its commands on the shared Typer app when
imported, which this package does for all of them.
"""

from apishield.cli import analyze, blocks, demo, inline, serve, simulate, spec
from apishield.cli.root import app, main

__all__ = ["analyze", "app", "blocks", "demo", "inline", "main", "serve", "simulate", "spec"]
