"""``coflux tokens …``: service tokens for CI, scripts and workers: create, list, revoke."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from .options import connect, echo_listing, echo_reply, get_config, global_options


def _patterns(value: str) -> list[str]:
    patterns = [item.strip() for item in value.split(",") if item.strip()]
    if not patterns:
        raise click.BadParameter("name at least one workspace pattern", param_hint="--workspaces")
    return patterns


@click.group()
@global_options
def tokens() -> None:
    """Manage service tokens (the caller needs the administer grant)."""


@tokens.command()
@global_options
@click.option("--name", required=True, help="What the token is for, e.g. ci-deploy.")
@click.option(
    "--workspaces",
    default="*",
    show_default=True,
    metavar="PATTERNS",
    help="Workspaces it may act in, comma-separated: '*', a name, or 'name/*' "
    "(that workspace and those below it), e.g. 'prod,dev/*'.",
)
@click.pass_context
def create(ctx: click.Context, name: str, workspaces: str) -> None:
    """Create a service token; its secret is shown this once only."""
    config = get_config(ctx)
    with connect(config) as client:
        created = client.create_token(name, _patterns(workspaces))
    echo_reply(config, created, _created)


def _created(token: dict[str, Any]) -> str:
    return (
        f"Created token {token['id']} ({token['name']}) for {_covers(token)}.\n"
        "Its secret, shown this once only (use it as COFLUX_TOKEN):\n"
        f"{token['token']}"
    )


def _covers(token: dict[str, Any]) -> str:
    return ", ".join(token["workspaces"])


@tokens.command("list")
@global_options
@click.pass_context
def list_tokens(ctx: click.Context) -> None:
    """List the service tokens you administer, revoked ones too."""
    config = get_config(ctx)
    with connect(config) as client:
        listed = client.tokens()
    echo_listing(config, "tokens", listed, "No service tokens.", _tokens_table)


def _tokens_table(listed: list[dict[str, Any]]) -> Table:
    table = Table("id", "name", "workspaces", "created", "by", "revoked")
    for token in listed:
        table.add_row(
            token["id"],
            token["name"],
            _covers(token),
            token["createdAt"],
            token["createdBy"],
            token["revokedAt"] or "",
        )
    return table


@tokens.command()
@global_options
@click.argument("token_id", metavar="ID")
@click.pass_context
def revoke(ctx: click.Context, token_id: str) -> None:
    """Revoke the token ID: refused from now on, its open connections closed."""
    config = get_config(ctx)
    with connect(config) as client:
        revoked = client.revoke_token(token_id)
    echo_reply(config, revoked, lambda token: f"Revoked token {token['id']} ({token['name']}).")
