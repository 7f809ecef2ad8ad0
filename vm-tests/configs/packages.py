"""environment.systemPackages of the test machine: a store-built program on the login PATH."""


def config(config, pkgs, lib, options):
    hello = pkgs.write_shell_script_bin("declos-hello", 'echo "hello from $(basename "$0")"')
    return {"environment.systemPackages": [hello]}
