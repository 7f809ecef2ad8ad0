"""declos.activation."""
