"""Host identity: `networking.hostName`, `networking.domain`."""

from declos.config import Option, types

options = {
    "networking": {
        "hostName": Option(
            types.str_matching(r"^$|^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$"),
            "declos",
            "The name of the machine. Leave it empty to let the host keep the name it has "
            "(for example one given by DHCP). It must be a valid DNS label (RFC 1035).",
            example="webserver",
        ),
        "domain": Option(
            types.null_or(types.str),
            None,
            "The domain. With `networking.hostName` it makes the fully qualified domain name.",
            example="example.org",
        ),
    },
}
