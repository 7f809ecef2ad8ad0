import os
config = {'environment.etc.secret.source': os.path.join(os.path.dirname(os.path.abspath(__file__)), 'secret.txt')}
