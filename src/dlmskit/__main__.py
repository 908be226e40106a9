"""``python -m dlmskit``: the dlmskit command."""

from dlmskit.cli.main import main

main()
