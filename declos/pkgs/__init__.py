"""declos.pkgs."""
