"""Headless commands: one module per command, each callable from the CLI; none imports Qt."""
