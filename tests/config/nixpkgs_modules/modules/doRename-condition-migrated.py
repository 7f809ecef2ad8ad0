from declos.config import lazy


def _result(config):
    assert config.services.foos == {"": {"bar": "baz"}}
    assert config.services.foo.bar == "baz"
    return True


config = {"services": {"foos": {"": {"bar": "baz"}}}, "result": lazy(_result)}
