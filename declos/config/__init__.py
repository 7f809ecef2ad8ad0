"""declos.config."""
