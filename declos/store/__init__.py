"""declos.store."""
