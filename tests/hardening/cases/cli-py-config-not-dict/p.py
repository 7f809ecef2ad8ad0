config = 5
