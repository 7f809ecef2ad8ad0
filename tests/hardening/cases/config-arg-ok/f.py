def config(n, s):
    return {"n": n, "s": s}
