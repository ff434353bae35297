"""The `podium` command line and the local stack: tools for a machine, never shipped in the Lambda layer."""
