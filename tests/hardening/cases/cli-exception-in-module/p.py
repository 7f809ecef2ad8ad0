config = {}
raise ValueError('module says no')
