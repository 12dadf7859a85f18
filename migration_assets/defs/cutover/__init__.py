"""Dagster objects of the cutover: the asset ``migration/cutover`` and the job ``cutover``."""
