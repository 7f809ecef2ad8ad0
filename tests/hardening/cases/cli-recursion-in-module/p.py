def f(n):
    return f(n + 1)
config = {'networking.hostName': f(0)}
