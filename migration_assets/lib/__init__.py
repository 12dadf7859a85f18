"""Plain Python behind the Dagster definitions: no Dagster imports, no I/O at import time."""
