config = {'networking.hostName': 'x'}
