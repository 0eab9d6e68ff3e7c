"""`riskmine users|keys|orgs`: users, API keys and the organisation tree."""

from __future__ import annotations

import typer

users_app = typer.Typer(help="Create, list and change users and their roles.", no_args_is_help=True)
keys_app = typer.Typer(help="Issue, list and revoke API keys for machines.", no_args_is_help=True)
orgs_app = typer.Typer(help="The organisation tree: province, city, county, station.", no_args_is_help=True)
