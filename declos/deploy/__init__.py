"""declos.deploy."""
