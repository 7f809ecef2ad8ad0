def config(config):
    raise SystemExit("bye")
