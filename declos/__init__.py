"""declos: declarative OS configuration and deployment for ordinary Linux hosts.

The library is the product; ``declos.cli`` is a thin layer over it. Dependencies point
down: cli -> deploy -> system -> config/pkgs -> store; ``activation`` stands alone
because it runs on the target with nothing but python3.
"""

__version__ = "0.1.0"
