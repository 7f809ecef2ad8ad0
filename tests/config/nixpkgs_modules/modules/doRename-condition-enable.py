from declos.config import lazy


def _result(config):
    assert config.services.foos == {"": {"bar": "baz"}}
    return True


config = {"services": {"foo": {"enable": True, "bar": "baz"}}, "result": lazy(_result)}
