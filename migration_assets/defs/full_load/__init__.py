"""Stage 2: every source table as an asset, copied in partitioned key-range batches."""
