"""Review rules the desktop and the CLI share: which silver label is shown, worklist status, gold."""
