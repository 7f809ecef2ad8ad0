from declos.common.paths import store_dir
from declos.config import mk_package_option
from declos.config.values import AttrDict

# Nix: pkgs.hello = { type = "derivation"; pname = "hello"; }. A declos package is a
# value with an `out_path` (NixOS's check is isDerivation), so the stand-in has one.
hello = AttrDict(type="derivation", pname="hello", out_path=f"{store_dir()}/{'h' * 32}-hello")
pkgs = AttrDict(hello=hello)
my_pkgs = AttrDict(hello=AttrDict(hello, pname="hello-other"))
odd_pkgs = AttrDict({"123": AttrDict({'with"quote': AttrDict(hello=hello)})})

options = {
    "package": mk_package_option(pkgs, "hello"),
    "namedPackage": mk_package_option(pkgs, "Hello", default=["hello"]),
    "namedPackageSingletonDefault": mk_package_option(pkgs, "Hello", default="hello"),
    "pathPackage": mk_package_option(pkgs, ["hello"]),
    "packageWithExample": mk_package_option(
        pkgs, "hello", example="pkgs.hello.override { stdenv = pkgs.clangStdenv; }"
    ),
    "packageWithPathExample": mk_package_option(pkgs, "hello", example=["hello"]),
    "packageWithExtraDescription": mk_package_option(
        pkgs, "hello", extra_description="Example extra description."
    ),
    "undefinedPackage": mk_package_option(pkgs, "hello", default=None),
    "nullablePackage": mk_package_option(pkgs, "hello", nullable=True, default=None),
    "nullablePackageWithDefault": mk_package_option(pkgs, "hello", nullable=True),
    "packageWithPkgsText": mk_package_option(pkgs, "hello", pkgs_text="myPkgs"),
    "packageFromOtherSet": mk_package_option(my_pkgs, "hello"),
    "packageInvalidIdentifier": mk_package_option(odd_pkgs, ["123", 'with"quote', "hello"]),
    "packageInvalidIdentifierExample": mk_package_option(
        pkgs, "hello", example=["123", 'with"quote', "hello"]
    ),
}
