"""The bottom of the engine: plugin Protocols and entry-point discovery, and the values that cross stages.

Every stage may import from here; nothing here imports a stage (the import-linter ``layers``
contract in ``pyproject.toml`` keeps it so).
"""
