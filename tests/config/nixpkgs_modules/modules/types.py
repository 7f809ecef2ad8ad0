from declos.common.paths import store_dir
from declos.config import Option, types

STORE = store_dir()  # Nix: builtins.storeDir

# types.nix without its `assertions` option (type descriptions, modules.sh 227) and with
# `nullableValue.path = ./.` left out (Nix copies that path into its store: 265).
options = {
    "pathInStore": Option(types.lazy_attrs_of(types.path_in_store)),
    "externalPath": Option(types.lazy_attrs_of(types.external_path)),
    # attrs_of in Nix, whose values are merged when read; declos's lazy_attrs_of does that
    "nullableValue": Option(types.lazy_attrs_of(types.serializable_value_with("VAL"))),
    "structuredValue": Option(
        types.lazy_attrs_of(types.serializable_value_with("VAL", nullable=False))
    ),
}
config = {
    "pathInStore": {
        "ok1": f"{STORE}/0lz9p8xhf89kb1c1kk6jxrzskaiygnlh-bash-5.2-p15.drv",
        "ok2": f"{STORE}/0fb3ykw9r5hpayd05sr0cizwadzq1d8q-bash-5.2-p15",
        "ok3": f"{STORE}/0fb3ykw9r5hpayd05sr0cizwadzq1d8q-bash-5.2-p15/bin/bash",
        "bad1": "",
        "bad2": f"{STORE}",
        "bad3": f"{STORE}/",
        "bad4": f"{STORE}/.links",
        "bad5": "/foo/bar",
    },
    "externalPath": {
        "bad1": f"{STORE}/0lz9p8xhf89kb1c1kk6jxrzskaiygnlh-bash-5.2-p15.drv",
        "bad2": f"{STORE}/0fb3ykw9r5hpayd05sr0cizwadzq1d8q-bash-5.2-p15",
        "bad3": f"{STORE}/0fb3ykw9r5hpayd05sr0cizwadzq1d8q-bash-5.2-p15/bin/bash",
        "bad4": "",
        "bad5": "./foo/bar",
        "ok1": "/foo/bar",
        "ok2": "/",
    },
    "nullableValue": {
        "null": None,
        "bool": True,
        "int": 1,
        "float": 1.1,
        "str": "foo",
        "attrs": {"foo": 1},
        "list": [{"bar": [1]}],
        "lambda": lambda x: x,
    },
    "structuredValue": {"null": None},
}
