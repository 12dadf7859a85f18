"""A Flyway-compatible versioned-migration engine for MySQL-family databases."""
