"""Change data capture: the change stream that carries writes made on the source after the snapshot."""
