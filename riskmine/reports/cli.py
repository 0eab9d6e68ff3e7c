"""Monthly report forms, immediate reports and thematic analysis reports."""

from __future__ import annotations

import typer

app = typer.Typer(help="Monthly report forms, immediate reports and thematic analysis reports.", no_args_is_help=True)
