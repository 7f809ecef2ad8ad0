"""`alternatives`: what `update-alternatives` would do, declared (Debian's postinst runs it).

`alternatives.nc = "${pkgs.netcat-openbsd}/bin/nc.openbsd"` puts `bin/nc` into the system
profile, ahead of every package (a link farm of its own, listed first in
`environment.systemPackages`). Library alternatives (BLAS/LAPACK) are a package override:
`override_attrs(lambda f, p: {"library_alternatives": {"libblas.so.3": PATH}})`.
"""

from declos.config import Option, lazy, mk_before, types

options = {
    "alternatives": Option(
        types.attrs_of(types.str),
        {},
        "Commands chosen among alternatives: name -> the program (a store path) that "
        "`bin/NAME` in the system profile points to.",
        example={"nc": "${pkgs.netcat-openbsd}/bin/nc.openbsd", "editor": "${pkgs.vim}/bin/vim"},
    ),
}


def config(config, pkgs):
    # lazy: reading `alternatives` while this module runs would make the evaluator run
    # every module that might define it, some of which read environment.systemPackages.
    def farm(config):
        chosen = config.alternatives
        if not chosen:
            return []
        links = {f"bin/{name}": str(target) for name, target in chosen.items()}
        return [pkgs.link_farm("alternatives", links)]

    return {"environment.systemPackages": mk_before(lazy(farm))}
