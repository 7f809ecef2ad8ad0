"""declos.pkgs.stdenv: building from source and development shells from build inputs."""
