"""Stage 1: the target's schema, owned by versioned Flyway-compatible migrations."""
