"""SQL fragments per engine; algorithms call these and never name an engine themselves."""
