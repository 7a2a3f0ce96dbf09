"""The project folder and its façade (core.py; the long-running half in running.py)."""

from radcurate.engine.project.core import DATABASE_FILE, FOLDERS, SETTINGS_FILE, Project

__all__ = ["DATABASE_FILE", "FOLDERS", "SETTINGS_FILE", "Project"]
