"""Adopting a database that already exists: its live schema written as a project's `sql/`."""
