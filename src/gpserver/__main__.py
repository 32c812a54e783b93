"""``python -m gpserver`` runs the command-line interface."""

from gpserver.cli import main

main()
