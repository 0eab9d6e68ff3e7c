"""Storage: the Protocol and its backends."""
