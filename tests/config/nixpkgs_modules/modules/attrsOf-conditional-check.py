from declos.config import Option, lazy, mk_if

options = {"conditionalWorks": Option(default=lazy(lambda c: "foo" not in c.value))}
config = {"value": {"foo": mk_if(False, "should not be defined")}}
