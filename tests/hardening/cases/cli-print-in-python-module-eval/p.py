print('noise')
config = {'networking.hostName': 'x'}
