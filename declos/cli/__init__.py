"""Command-line interface: argument parsing and printing only; all work is in the library."""
