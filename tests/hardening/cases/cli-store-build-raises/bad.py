raise RuntimeError('boom from the module')
