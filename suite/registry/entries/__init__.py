"""The registry entries, one module per kind of family."""
