"""declos.testing."""
