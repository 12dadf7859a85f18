"""Rolling the target back: before cutover (stream stopped, target emptied or undone)."""
