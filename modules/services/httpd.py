"""The Apache HTTP server, serving `documentRoot` (the NixOps trivial example's web server)."""

from declos.config import Option, mk_enable_option, types

options = {
    "services.httpd": {
        "enable": mk_enable_option("the Apache HTTP Server"),
        "package": Option(
            types.null_or(types.package),
            None,
            "The Apache package. null uses the host distribution's apache2.",
            default_text="the distribution's apache2",
        ),
        "adminAddr": Option(
            types.null_or(types.str),
            None,
            "E-mail address of the server administrator (`ServerAdmin`). Required when the server is enabled.",
            example="admin@example.org",
        ),
        "documentRoot": Option(
            types.null_or(types.path),
            None,
            "The directory served at `/`. null serves the distribution's default page.",
            example="/srv/www",
        ),
        "listenPort": Option(types.port, 80, "The TCP port Apache listens on."),
        "user": Option(types.str, "www-data", "User account the server runs as."),
        "group": Option(types.str, "www-data", "Group the server runs as."),
        "extraConfig": Option(types.lines, "", "Extra lines appended to the server configuration."),
    },
}


def config(config):
    # adminAddr is nullable so machines without httpd evaluate; a running server needs it
    # (it is Apache's ServerAdmin), as NixOS's httpd module asserts.
    cfg = config.services.httpd
    if not cfg.enable:
        return {}
    return {
        "assertions": [
            {
                "assertion": cfg.adminAddr is not None,
                "message": "services.httpd.adminAddr must be set when services.httpd.enable is true "
                "(the server administrator's e-mail address, Apache's ServerAdmin), "
                "e.g. services.httpd.adminAddr: admin@example.org",
            }
        ]
    }
