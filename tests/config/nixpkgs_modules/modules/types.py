from declos.common.paths import store_dir
from declos.config import Option, lazy, types

STORE = store_dir()  # Nix: builtins.storeDir

# types.nix with `nullableValue.path = ./.` left out (Nix copies that path into its
# store: 265). Its `assertions` option (modules.sh 227: every type description) is
# `result` here (declos evaluations declare `assertions` themselves); the pairs below are
# its asserts in order, generated from the Nix file (`abort` is `_abort`).
options = {
    "pathInStore": Option(types.lazy_attrs_of(types.path_in_store)),
    "externalPath": Option(types.lazy_attrs_of(types.external_path)),
    # attrs_of in Nix, whose values are merged when read; declos's lazy_attrs_of does that
    "nullableValue": Option(types.lazy_attrs_of(types.serializable_value_with("VAL"))),
    "structuredValue": Option(
        types.lazy_attrs_of(types.serializable_value_with("VAL", nullable=False))
    ),
    "result": Option(),
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
    "result": lazy(lambda: _check_descriptions()),
}


def _abort(_value):
    raise AssertionError("abort")


def _descriptions():
    return [
        (types.str, "string"),
        (types.int, "signed integer"),
        (types.attrs_of(types.str), "attribute set of string"),
        (types.attrs_of(types.attrs_of(types.str)), "attribute set of attribute set of string"),
        (
            types.one_of([types.attrs_of(types.str), types.int, types.bool]),
            "(attribute set of string) or signed integer or boolean",
        ),
        (types.enum([True, None, False]), "one of true, <null>, false"),
        (
            types.submodule({"freeform_type": types.attrs_of(types.str)}),
            "open submodule of attribute set of string",
        ),
        (types.attrs_of(types.int), "attribute set of signed integer"),
        (types.attrs_of(types.bool), "attribute set of boolean"),
        (
            types.attrs_of(types.either(types.int, types.str)),
            "attribute set of (signed integer or string)",
        ),
        (types.attrs_of(types.null_or(types.str)), "attribute set of (null or string)"),
        (types.attrs_of(types.list_of(types.str)), "attribute set of list of string"),
        (
            types.attrs_of(types.attrs_of(types.int)),
            "attribute set of attribute set of signed integer",
        ),
        (types.attrs_of(types.ints.positive), "attribute set of (positive integer, meaning >0)"),
        (types.attrs_of(types.enum(["a", "b"])), 'attribute set of (one of "a", "b")'),
        (
            types.attrs_of(types.str_matching("[0-9]+")),
            "attribute set of string matching the pattern [0-9]+",
        ),
        (
            types.attrs_of(types.non_empty_list_of(types.str)),
            "attribute set of non-empty (list of string)",
        ),
        (
            types.attrs_of(types.one_of([types.str, types.int])),
            "attribute set of (string or signed integer)",
        ),
        (
            types.attrs_of(types.coerced_to(types.str, _abort, types.int)),
            "attribute set of (signed integer or string convertible to it)",
        ),
        (
            types.attrs_of(types.function_to(types.str)),
            "attribute set of function that evaluates to a(n) string",
        ),
        (
            types.attrs_of(types.passwd_entry(types.str)),
            "attribute set of (string, not containing newlines or colons)",
        ),
        (types.attrs_of(types.uniq(types.str)), "attribute set of string"),
        (types.attrs_of(types.unique(types.str, message="test")), "attribute set of string"),
        (types.attrs_of(types.path_with(absolute=True)), "attribute set of absolute path"),
        (
            types.attrs_of(types.separated_string(",")),
            'attribute set of strings concatenated with ","',
        ),
        (types.attrs_of(types.loa_of(types.str)), "attribute set of attribute set of string"),
        (
            types.attrs_of(types.lazy_attrs_of(types.str)),
            "attribute set of lazy attribute set of string",
        ),
        (types.attrs_of(types.submodule({})), "attribute set of (submodule)"),
        (
            types.attrs_of(types.submodule({"freeform_type": types.attrs_of(types.str)})),
            "attribute set of (open submodule of attribute set of string)",
        ),
        (types.attrs_of(types.add_check(types.str, lambda x: True)), "attribute set of string"),
        (types.attrs_of(types.enum([])), "attribute set of impossible (empty enum)"),
        (
            types.attrs_of(types.ints.u32),
            "attribute set of 32 bit unsigned integer; between 0 and 4294967295 (both inclusive)",
        ),
        (
            types.attrs_of(types.numbers.positive),
            "attribute set of (positive integer or floating point number, meaning >0)",
        ),
        (types.attrs_with(types.str), "attribute set of string"),
        (types.attrs_with(types.int), "attribute set of signed integer"),
        (types.attrs_with(types.bool), "attribute set of boolean"),
        (
            types.attrs_with(types.either(types.int, types.str)),
            "attribute set of (signed integer or string)",
        ),
        (types.attrs_with(types.null_or(types.str)), "attribute set of (null or string)"),
        (types.attrs_with(types.list_of(types.str)), "attribute set of list of string"),
        (
            types.attrs_with(types.attrs_of(types.int)),
            "attribute set of attribute set of signed integer",
        ),
        (types.attrs_with(types.ints.positive), "attribute set of (positive integer, meaning >0)"),
        (types.attrs_with(types.str, lazy=True), "lazy attribute set of string"),
        (types.attrs_with(types.str, lazy=False), "attribute set of string"),
        (types.attr_list_of(types.str), "attribute list of string"),
        (types.attr_list_of(types.int), "attribute list of signed integer"),
        (types.attr_list_of(types.bool), "attribute list of boolean"),
        (
            types.attr_list_of(types.either(types.int, types.str)),
            "attribute list of (signed integer or string)",
        ),
        (types.attr_list_of(types.null_or(types.str)), "attribute list of (null or string)"),
        (types.attr_list_of(types.list_of(types.str)), "attribute list of list of string"),
        (
            types.attr_list_of(types.attrs_of(types.int)),
            "attribute list of attribute set of signed integer",
        ),
        (
            types.attr_list_of(types.attr_list_of(types.str)),
            "attribute list of attribute list of string",
        ),
        (
            types.attr_list_of(types.ints.positive),
            "attribute list of (positive integer, meaning >0)",
        ),
        (types.attr_list_of(types.enum(["a", "b"])), 'attribute list of (one of "a", "b")'),
        (
            types.attr_list_of(types.str_matching("[0-9]+")),
            "attribute list of string matching the pattern [0-9]+",
        ),
        (
            types.attr_list_of(types.non_empty_list_of(types.str)),
            "attribute list of non-empty (list of string)",
        ),
        (types.attr_list_of(types.submodule({})), "attribute list of (submodule)"),
        (
            types.coerced_to(types.str, _abort, types.int),
            "signed integer or string convertible to it",
        ),
        (
            types.coerced_to(types.int, _abort, types.str),
            "string or signed integer convertible to it",
        ),
        (types.coerced_to(types.bool, _abort, types.str), "string or boolean convertible to it"),
        (
            types.coerced_to(types.either(types.int, types.str), _abort, types.str),
            "string or (signed integer or string) convertible to it",
        ),
        (
            types.coerced_to(types.null_or(types.str), _abort, types.str),
            "string or (null or string) convertible to it",
        ),
        (
            types.coerced_to(types.list_of(types.str), _abort, types.str),
            "string or (list of string) convertible to it",
        ),
        (
            types.coerced_to(types.attrs_of(types.int), _abort, types.str),
            "string or (attribute set of signed integer) convertible to it",
        ),
        (
            types.coerced_to(types.ints.positive, _abort, types.str),
            "string or (positive integer, meaning >0) convertible to it",
        ),
        (
            types.coerced_to(types.list_of(types.str), _abort, types.attrs_of(types.str)),
            "(attribute set of string) or (list of string) convertible to it",
        ),
        (types.either(types.str, types.int), "string or signed integer"),
        (types.either(types.int, types.str), "signed integer or string"),
        (types.either(types.bool, types.str), "boolean or string"),
        (
            types.either(types.either(types.int, types.str), types.bool),
            "signed integer or string or boolean",
        ),
        (types.either(types.null_or(types.str), types.int), "null or string or signed integer"),
        (types.either(types.list_of(types.str), types.int), "(list of string) or signed integer"),
        (
            types.either(types.attrs_of(types.int), types.str),
            "(attribute set of signed integer) or string",
        ),
        (types.either(types.ints.positive, types.str), "positive integer, meaning >0, or string"),
        (
            types.either(types.either(types.bool, types.str), types.int),
            "boolean or string or signed integer",
        ),
        (types.either(types.bool, types.str), "boolean or string"),
        (types.either(types.bool, types.int), "boolean or signed integer"),
        (types.either(types.bool, types.enum(["a", "b"])), 'boolean or one of "a", "b"'),
        (
            types.either(types.bool, types.str_matching("[0-9]+")),
            "boolean or string matching the pattern [0-9]+",
        ),
        (
            types.either(types.bool, types.non_empty_list_of(types.str)),
            "boolean or non-empty (list of string)",
        ),
        (
            types.either(types.bool, types.one_of([types.str, types.int])),
            "boolean or string or signed integer",
        ),
        (
            types.either(types.bool, types.coerced_to(types.str, _abort, types.int)),
            "boolean or (signed integer or string convertible to it)",
        ),
        (
            types.either(types.bool, types.function_to(types.str)),
            "boolean or function that evaluates to a(n) string",
        ),
        (
            types.either(types.bool, types.passwd_entry(types.str)),
            "boolean or (string, not containing newlines or colons)",
        ),
        (types.either(types.bool, types.uniq(types.str)), "boolean or string"),
        (types.either(types.bool, types.unique(types.str, message="test")), "boolean or string"),
        (types.either(types.bool, types.path_with(absolute=True)), "boolean or absolute path"),
        (
            types.either(types.bool, types.separated_string(",")),
            'boolean or strings concatenated with ","',
        ),
        (types.either(types.bool, types.attrs_of(types.str)), "boolean or attribute set of string"),
        (types.either(types.bool, types.list_of(types.str)), "boolean or list of string"),
        (types.either(types.bool, types.null_or(types.str)), "boolean or null or string"),
        (
            types.either(types.bool, types.lazy_attrs_of(types.str)),
            "boolean or lazy attribute set of string",
        ),
        (types.either(types.bool, types.submodule({})), "boolean or (submodule)"),
        (
            types.either(types.bool, types.ints.positive),
            "boolean or (positive integer, meaning >0)",
        ),
        (
            types.either(types.bool, types.numbers.positive),
            "boolean or (positive integer or floating point number, meaning >0)",
        ),
        (types.either(types.str, types.bool), "string or boolean"),
        (types.either(types.int, types.bool), "signed integer or boolean"),
        (types.either(types.enum(["a", "b"]), types.bool), 'one of "a", "b" or boolean'),
        (
            types.either(types.str_matching("[0-9]+"), types.bool),
            "string matching the pattern [0-9]+ or boolean",
        ),
        (
            types.either(types.non_empty_list_of(types.str), types.bool),
            "(non-empty (list of string)) or boolean",
        ),
        (
            types.either(types.one_of([types.str, types.int]), types.bool),
            "string or signed integer or boolean",
        ),
        (
            types.either(types.coerced_to(types.str, _abort, types.int), types.bool),
            "(signed integer or string convertible to it) or boolean",
        ),
        (
            types.either(types.function_to(types.str), types.bool),
            "(function that evaluates to a(n) string) or boolean",
        ),
        (
            types.either(types.passwd_entry(types.str), types.bool),
            "string, not containing newlines or colons, or boolean",
        ),
        (types.either(types.uniq(types.str), types.bool), "string or boolean"),
        (types.either(types.unique(types.str, message="test"), types.bool), "string or boolean"),
        (types.either(types.path_with(absolute=True), types.bool), "absolute path or boolean"),
        (
            types.either(types.separated_string(","), types.bool),
            'strings concatenated with "," or boolean',
        ),
        (
            types.either(types.attrs_of(types.str), types.bool),
            "(attribute set of string) or boolean",
        ),
        (types.either(types.list_of(types.str), types.bool), "(list of string) or boolean"),
        (types.either(types.null_or(types.str), types.bool), "null or string or boolean"),
        (
            types.either(types.lazy_attrs_of(types.str), types.bool),
            "(lazy attribute set of string) or boolean",
        ),
        (types.either(types.submodule({}), types.bool), "(submodule) or boolean"),
        (types.either(types.ints.positive, types.bool), "positive integer, meaning >0, or boolean"),
        (
            types.either(types.numbers.positive, types.bool),
            "positive integer or floating point number, meaning >0, or boolean",
        ),
        (types.enum([]), "impossible (empty enum)"),
        (types.enum(["single"]), 'value "single" (singular enum)'),
        (types.enum(["a", "b"]), 'one of "a", "b"'),
        (types.enum([True, False]), "one of true, false"),
        (types.enum([1, 2, 3]), "one of 1, 2, 3"),
        (types.enum([None]), "value <null> (singular enum)"),
        (types.function_to(types.str), "function that evaluates to a(n) string"),
        (types.function_to(types.int), "function that evaluates to a(n) signed integer"),
        (types.function_to(types.bool), "function that evaluates to a(n) boolean"),
        (
            types.function_to(types.either(types.int, types.str)),
            "function that evaluates to a(n) (signed integer or string)",
        ),
        (
            types.function_to(types.null_or(types.str)),
            "function that evaluates to a(n) (null or string)",
        ),
        (
            types.function_to(types.list_of(types.str)),
            "function that evaluates to a(n) list of string",
        ),
        (
            types.function_to(types.attrs_of(types.int)),
            "function that evaluates to a(n) attribute set of signed integer",
        ),
        (
            types.function_to(types.ints.positive),
            "function that evaluates to a(n) (positive integer, meaning >0)",
        ),
        (types.lazy_attrs_of(types.str), "lazy attribute set of string"),
        (types.lazy_attrs_of(types.int), "lazy attribute set of signed integer"),
        (types.lazy_attrs_of(types.bool), "lazy attribute set of boolean"),
        (
            types.lazy_attrs_of(types.either(types.int, types.str)),
            "lazy attribute set of (signed integer or string)",
        ),
        (types.lazy_attrs_of(types.null_or(types.str)), "lazy attribute set of (null or string)"),
        (types.lazy_attrs_of(types.list_of(types.str)), "lazy attribute set of list of string"),
        (
            types.lazy_attrs_of(types.attrs_of(types.int)),
            "lazy attribute set of attribute set of signed integer",
        ),
        (
            types.lazy_attrs_of(types.ints.positive),
            "lazy attribute set of (positive integer, meaning >0)",
        ),
        (types.list_of(types.str), "list of string"),
        (types.list_of(types.int), "list of signed integer"),
        (types.list_of(types.bool), "list of boolean"),
        (types.list_of(types.either(types.int, types.str)), "list of (signed integer or string)"),
        (types.list_of(types.null_or(types.str)), "list of (null or string)"),
        (types.list_of(types.list_of(types.str)), "list of list of string"),
        (types.list_of(types.attrs_of(types.int)), "list of attribute set of signed integer"),
        (types.list_of(types.ints.positive), "list of (positive integer, meaning >0)"),
        (types.loa_of(types.str), "attribute set of string"),
        (types.loa_of(types.int), "attribute set of signed integer"),
        (types.loa_of(types.bool), "attribute set of boolean"),
        (
            types.loa_of(types.either(types.int, types.str)),
            "attribute set of (signed integer or string)",
        ),
        (types.loa_of(types.null_or(types.str)), "attribute set of (null or string)"),
        (types.loa_of(types.list_of(types.str)), "attribute set of list of string"),
        (
            types.loa_of(types.attrs_of(types.int)),
            "attribute set of attribute set of signed integer",
        ),
        (types.loa_of(types.ints.positive), "attribute set of (positive integer, meaning >0)"),
        (types.non_empty_list_of(types.str), "non-empty (list of string)"),
        (types.non_empty_list_of(types.int), "non-empty (list of signed integer)"),
        (types.non_empty_list_of(types.bool), "non-empty (list of boolean)"),
        (
            types.non_empty_list_of(types.either(types.int, types.str)),
            "non-empty (list of (signed integer or string))",
        ),
        (types.non_empty_list_of(types.null_or(types.str)), "non-empty (list of (null or string))"),
        (types.non_empty_list_of(types.list_of(types.str)), "non-empty (list of list of string)"),
        (
            types.non_empty_list_of(types.attrs_of(types.int)),
            "non-empty (list of attribute set of signed integer)",
        ),
        (
            types.non_empty_list_of(types.ints.positive),
            "non-empty (list of (positive integer, meaning >0))",
        ),
        (types.null_or(types.str), "null or string"),
        (types.null_or(types.int), "null or signed integer"),
        (types.null_or(types.bool), "null or boolean"),
        (types.null_or(types.either(types.int, types.str)), "null or signed integer or string"),
        (types.null_or(types.null_or(types.str)), "null or null or string"),
        (types.null_or(types.list_of(types.str)), "null or (list of string)"),
        (types.null_or(types.attrs_of(types.int)), "null or (attribute set of signed integer)"),
        (types.null_or(types.ints.positive), "null or (positive integer, meaning >0)"),
        (types.one_of([types.str]), "string"),
        (types.one_of([types.int]), "signed integer"),
        (types.one_of([types.bool]), "boolean"),
        (types.one_of([types.either(types.int, types.str)]), "signed integer or string"),
        (types.one_of([types.null_or(types.str)]), "null or string"),
        (types.one_of([types.list_of(types.str)]), "list of string"),
        (types.one_of([types.attrs_of(types.int)]), "attribute set of signed integer"),
        (types.one_of([types.ints.positive]), "positive integer, meaning >0"),
        (types.one_of([types.str, types.int]), "string or signed integer"),
        (types.one_of([types.str, types.int, types.bool]), "string or signed integer or boolean"),
        (
            types.one_of([types.list_of(types.str), types.int, types.bool]),
            "(list of string) or signed integer or boolean",
        ),
        (types.one_of([types.ints.positive, types.str]), "positive integer, meaning >0, or string"),
        (types.passwd_entry(types.str), "string, not containing newlines or colons"),
        (types.passwd_entry(types.int), "signed integer, not containing newlines or colons"),
        (types.passwd_entry(types.bool), "boolean, not containing newlines or colons"),
        (
            types.passwd_entry(types.either(types.int, types.str)),
            "(signed integer or string), not containing newlines or colons",
        ),
        (
            types.passwd_entry(types.null_or(types.str)),
            "(null or string), not containing newlines or colons",
        ),
        (
            types.passwd_entry(types.list_of(types.str)),
            "(list of string), not containing newlines or colons",
        ),
        (
            types.passwd_entry(types.attrs_of(types.int)),
            "(attribute set of signed integer), not containing newlines or colons",
        ),
        (
            types.passwd_entry(types.ints.positive),
            "(positive integer, meaning >0), not containing newlines or colons",
        ),
        (types.path_with(), "path"),
        (types.path_with(absolute=True), "absolute path"),
        (types.path_with(in_store=True), "path in the Nix store"),
        (types.path_with(absolute=True, in_store=True), "absolute path in the Nix store"),
        (types.path_with(absolute=False), "relative path"),
        (types.path_with(absolute=None), "path"),
        (types.path_with(in_store=False), "path not in the Nix store"),
        (types.path_with(in_store=None), "path"),
        (types.separated_string(""), 'strings concatenated with ""'),
        (types.separated_string(","), 'strings concatenated with ","'),
        (types.separated_string("\n"), 'strings concatenated with "\\n"'),
        (types.separated_string(":"), 'strings concatenated with ":"'),
        (types.str_matching("[a-z]+"), "string matching the pattern [a-z]+"),
        (
            types.str_matching("[0-9]{3}-[0-9]{2}-[0-9]{4}"),
            "string matching the pattern [0-9]{3}-[0-9]{2}-[0-9]{4}",
        ),
        (types.str_matching(".*\\.txt"), "string matching the pattern .*\\.txt"),
        (
            types.submodule({"freeform_type": types.attrs_of(types.int)}),
            "open submodule of attribute set of signed integer",
        ),
        (
            types.submodule({"freeform_type": types.attrs_of(types.bool)}),
            "open submodule of attribute set of boolean",
        ),
        (
            types.submodule({"freeform_type": types.attrs_of(types.either(types.int, types.str))}),
            "open submodule of attribute set of (signed integer or string)",
        ),
        (
            types.submodule({"freeform_type": types.attrs_of(types.null_or(types.str))}),
            "open submodule of attribute set of (null or string)",
        ),
        (
            types.submodule({"freeform_type": types.list_of(types.str)}),
            "open submodule of list of string",
        ),
        (
            types.submodule({"freeform_type": types.attrs_of(types.ints.positive)}),
            "open submodule of attribute set of (positive integer, meaning >0)",
        ),
        (
            types.submodule({"freeform_type": types.lazy_attrs_of(types.str)}),
            "open submodule of lazy attribute set of string",
        ),
        (
            types.submodule({"freeform_type": types.lazy_attrs_of(types.int)}),
            "open submodule of lazy attribute set of signed integer",
        ),
        (
            types.submodule({"freeform_type": types.lazy_attrs_of(types.list_of(types.str))}),
            "open submodule of lazy attribute set of list of string",
        ),
        (types.submodule({}), "submodule"),
        (types.submodule({"options": {"foo": Option(types.str)}}), "submodule"),
        (types.submodule(), "submodule"),
        (
            types.submodule({"freeform_type": types.attrs_of(types.str)}),
            "open submodule of attribute set of string",
        ),
        (
            types.submodule({"freeform_type": types.lazy_attrs_of(types.str)}),
            "open submodule of lazy attribute set of string",
        ),
        (
            types.submodule({"freeform_type": types.lazy_attrs_of(types.int)}),
            "open submodule of lazy attribute set of signed integer",
        ),
        (
            types.submodule(
                {"freeform_type": types.lazy_attrs_of(types.either(types.int, types.str))}
            ),
            "open submodule of lazy attribute set of (signed integer or string)",
        ),
        (
            types.submodule_with(modules=[{"freeform_type": types.attrs_of(types.str)}]),
            "open submodule of attribute set of string",
        ),
        (
            types.submodule_with(modules=[{"freeform_type": types.attrs_of(types.int)}]),
            "open submodule of attribute set of signed integer",
        ),
        (
            types.submodule_with(modules=[{"freeform_type": types.attrs_of(types.bool)}]),
            "open submodule of attribute set of boolean",
        ),
        (
            types.submodule_with(
                modules=[{"freeform_type": types.attrs_of(types.either(types.int, types.str))}]
            ),
            "open submodule of attribute set of (signed integer or string)",
        ),
        (
            types.submodule_with(
                modules=[{"freeform_type": types.attrs_of(types.null_or(types.str))}]
            ),
            "open submodule of attribute set of (null or string)",
        ),
        (
            types.submodule_with(modules=[{"freeform_type": types.list_of(types.str)}]),
            "open submodule of list of string",
        ),
        (
            types.submodule_with(modules=[{"freeform_type": types.lazy_attrs_of(types.str)}]),
            "open submodule of lazy attribute set of string",
        ),
        (
            types.submodule_with(modules=[{"freeform_type": types.lazy_attrs_of(types.int)}]),
            "open submodule of lazy attribute set of signed integer",
        ),
        (
            types.submodule_with(
                modules=[{"freeform_type": types.lazy_attrs_of(types.either(types.int, types.str))}]
            ),
            "open submodule of lazy attribute set of (signed integer or string)",
        ),
        (
            types.submodule_with(modules=[{"freeform_type": types.attrs_of(types.ints.positive)}]),
            "open submodule of attribute set of (positive integer, meaning >0)",
        ),
        (types.submodule_with(modules=[]), "submodule"),
        (types.submodule_with(modules=[], description="custom"), "custom"),
        (types.submodule_with(modules=[], description="custom module"), "custom module"),
        (types.uniq(types.str), "string"),
        (types.uniq(types.either(types.int, types.str)), "signed integer or string"),
        (types.uniq(types.list_of(types.str)), "list of string"),
        (types.unique(types.str, message="test"), "string"),
        (types.unique(types.either(types.int, types.str), message=""), "signed integer or string"),
        (types.unique(types.list_of(types.str), message="custom"), "list of string"),
        (
            types.unique(types.either(types.int, types.str), message="test"),
            "signed integer or string",
        ),
        (types.unique(types.list_of(types.str), message="test"), "list of string"),
        (types.json, "JSON value"),
        (types.toml, "TOML value"),
    ]


def _check_descriptions():
    for typ, want in _descriptions():
        assert typ.description == want, (typ.description, want)
    return "ok"
