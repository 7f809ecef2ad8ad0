from declos.config import lazy


def config(config, options):
    def result():
        assert config.services.foos == {}
        assert not options.services.foo.bar.isDefined
        return True

    return {"result": lazy(result)}
