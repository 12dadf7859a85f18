"""Server-side verification: row counts and checksums per key range on both sides."""
