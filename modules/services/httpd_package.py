"""`services.httpd.package` = `pkgs.apache2` when declos.lock pins it (NixOS's
`mkPackageOption pkgs "apache2"`).

A module of its own because httpd.py reads the package it would define (a cycle); this
one reads only `enable`. Without a lock that pins apache2 the option stays null and the
host's apache2 is used, so machines that never ran `declos lock` keep working; while
`declos lock` evaluates, asking records apache2 as used.
"""

from declos.config import mk_default


def config(config, pkgs):
    httpd = config.services.httpd
    # (httpd.py may be disabled with disabled_modules: then there is no `enable`)
    if "enable" not in httpd or not httpd.enable or "apache2" not in pkgs.deb:
        return {}
    return {"services.httpd.package": mk_default(pkgs.apache2)}
