"""The full-load copy path: key-range batches streamed from the source into the target."""
