def config(config, pkgs, lib, options):
    return {"environment.systemPackages": [pkgs.python3.with_packages(["six==1.17.0"])]}
