"""declos.system."""
