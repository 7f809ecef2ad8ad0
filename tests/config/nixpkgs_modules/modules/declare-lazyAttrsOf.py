from declos.config import Option, types


# `types.str // { emptyValue.value = "empty"; }`: a string type whose empty value is "empty".
class _StrWithEmpty(type(types.str)):  # type: ignore[misc]
    def empty_value(self, ev, loc):
        return "empty"


options = {
    "value": Option(
        types.lazy_attrs_of(_StrWithEmpty("str", "string", lambda v: isinstance(v, str))),
        default={},
    )
}
