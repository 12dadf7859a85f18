"""Dagster code location that migrates an on-premises MySQL database to Aurora MySQL."""
