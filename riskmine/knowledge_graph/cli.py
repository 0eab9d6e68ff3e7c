"""Build, inspect and evaluate the product knowledge graph and candidate risks."""

from __future__ import annotations

import typer

app = typer.Typer(help="Build, inspect and evaluate the knowledge graph and candidates.", no_args_is_help=True)
