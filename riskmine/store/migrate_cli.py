"""`riskmine migrate`: copy the embedded store into another backend."""

from __future__ import annotations

import typer

app = typer.Typer(help="Copy the embedded SQLite store into Elasticsearch.", no_args_is_help=True)
