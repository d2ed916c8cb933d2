"""`python -m apishield`: the same as the `apishield` command."""

from apishield.cli import main

main()
