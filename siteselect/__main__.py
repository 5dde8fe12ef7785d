"""``python -m siteselect``."""

from siteselect.cli import main

main()
