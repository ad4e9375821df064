"""`wezparctl dashboard`: the web dashboard's URL with its token, from the running daemon.

Asked of the daemon rather than read from the state dir, so the port is the one it really
bound (it falls back to a free one when the default is taken) and a stopped daemon says so.
"""

from __future__ import annotations

import click

from wezparallel.cli.remote import call, print_json


@click.command()
@click.option("--json", "as_json", is_flag=True, help='Print {"url": ...}.')
@click.option("--open", "open_browser", is_flag=True,
              help="Also open it in a browser, where there is one.")
@click.pass_context
def dashboard(ctx: click.Context, as_json: bool, open_browser: bool) -> None:
    """Print the dashboard's URL (it holds the token: keep it to yourself)."""
    result = call(ctx, "dashboard")
    if as_json:
        print_json(result)
    else:
        click.echo(result["url"])
    if open_browser:
        import webbrowser

        if not webbrowser.open(result["url"]):
            click.echo("wezparctl: no browser found here; open the URL above", err=True)
