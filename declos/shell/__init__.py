"""declos.shell: `declos shell`, nix-shell over declos' packages (docs/shell.md).

`cache` (stdlib only) is all a cache hit imports; `evaluate` builds a shell on a miss and
`reads` records the files the evaluation read, so the cache is keyed on all of them.
"""
