"""The cutover: the moment the application's database moves from the source to the target."""
