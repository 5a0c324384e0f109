"""The command line: `python -m suite COMMAND` / `distsuite COMMAND`."""
