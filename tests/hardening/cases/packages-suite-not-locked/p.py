def config(config, pkgs, lib, options):
    return {"environment.systemPackages": [pkgs.jq.override(suite="bookworm-backports")]}
