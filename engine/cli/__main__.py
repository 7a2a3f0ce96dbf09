"""``python -m radcurate.engine.cli`` (same as the ``radcurate`` console script)."""

from radcurate.engine.cli import main

main()
