"""The ``radcurate`` command line (typer + rich)."""

from __future__ import annotations


def main() -> None:
    from radcurate.engine.cli.app import run

    run()
