"""The project store: SQLite through sqlite-utils, WAL mode, numbered migrations."""
