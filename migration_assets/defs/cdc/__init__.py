"""Dagster objects of the live migration: source assets, snapshot, change stream, sensor."""
