"""Dagster objects that watch the migration itself: the run-failure sensor and its alerts."""
