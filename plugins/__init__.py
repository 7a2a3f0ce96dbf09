"""Built-in radcurate plugins, registered through entry points exactly like third-party ones."""
