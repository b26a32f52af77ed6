"""``python -m sitekeeper`` runs the CLI."""

from sitekeeper.cli.main import main

main()
