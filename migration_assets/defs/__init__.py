"""Dagster objects, one folder per migration stage; each module builds its own definitions."""
