"""declos.activation: makes a host match one system closure.

Runs ON THE TARGET from inside the closure's activator store path, with nothing but the
Python standard library and jeepney, so it must never import anything else from
declos. The closure format it consumes is docs/closure.md; the host-side state it
keeps is docs/activation.md.
"""
