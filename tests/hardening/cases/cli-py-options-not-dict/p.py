options = [1]
