"""Rollback jobs: before cutover (the target emptied or undone, the source untouched)."""
