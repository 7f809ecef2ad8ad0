from pathlib import Path

from declos.common.paths import store_dir
from declos.config import Option, types

STORE = store_dir()  # Nix: builtins.storeDir
# conflictingPathOptionType and impossiblePathOptionType are in pathWith-conflict.py and
# pathWith-impossible.yaml: declos reads every declaration first, so they would stop the
# whole evaluation, where Nix fails only when they are read.

imports = [
    {
        "options": {
            "pathInStore": Option(types.lazy_attrs_of(types.path_with(in_store=True))),
            "pathNotInStore": Option(types.lazy_attrs_of(types.path_with(in_store=False))),
            "anyPath": Option(types.lazy_attrs_of(types.path_with())),
            "absolutePathNotInStore": Option(
                types.lazy_attrs_of(types.path_with(in_store=False, absolute=True))
            ),
        }
    },
    {
        "options": {
            "pathNotInStore": Option(
                types.lazy_attrs_of(types.path_with(in_store=False, absolute=None))
            ),
        }
    },
]

config = {
    "pathInStore": {
        "ok1": f"{STORE}/0lz9p8xhf89kb1c1kk6jxrzskaiygnlh-bash-5.2-p15.drv",
        "ok2": f"{STORE}/0fb3ykw9r5hpayd05sr0cizwadzq1d8q-bash-5.2-p15",
        "ok3": f"{STORE}/0fb3ykw9r5hpayd05sr0cizwadzq1d8q-bash-5.2-p15/bin/bash",
        "ok4": "/1121rp0gvr1qya7hvy925g5kjwg66acz6sn1ra1hca09f1z5dsab",
        "ok5": "/1121rp0gvr1qya7hvy925g5kjwg66acz6sn1ra1hca09f1z5dsab/bin/bash",
        "ok6": Path("/1121rp0gvr1qya7hvy925g5kjwg66acz6sn1ra1hca09f1z5dsab"),
        "bad1": "",
        "bad2": f"{STORE}",
        "bad3": f"{STORE}/",
        "bad4": f"{STORE}/.links",
        "bad5": "/foo/bar",
    },
    "pathNotInStore": {
        "ok1": "/foo/bar",
        "ok2": f"{STORE}",
        "ok3": f"{STORE}/",
        "ok4": "",
        "ok5": f"{STORE}/.links",
        "bad1": f"{STORE}/0lz9p8xhf89kb1c1kk6jxrzskaiygnlh-bash-5.2-p15.drv",
        "bad2": f"{STORE}/0fb3ykw9r5hpayd05sr0cizwadzq1d8q-bash-5.2-p15",
        "bad3": f"{STORE}/0fb3ykw9r5hpayd05sr0cizwadzq1d8q-bash-5.2-p15/bin/bash",
        "bad4": Path(__file__),  # Nix: ./pathWith.nix, a path value
    },
    "anyPath": {"ok1": "/this/is/absolute", "ok2": "./this/is/relative", "bad1": 42},
    "absolutePathNotInStore": {
        "ok1": "/this/is/absolute",
        "bad1": "./this/is/relative",
        "bad2": f"{STORE}/0fb3ykw9r5hpayd05sr0cizwadzq1d8q-bash-5.2-p15",
    },
}
