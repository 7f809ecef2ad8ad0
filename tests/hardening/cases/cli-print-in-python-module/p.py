print('hello from the module')
config = {'networking.hostName': 'x'}
