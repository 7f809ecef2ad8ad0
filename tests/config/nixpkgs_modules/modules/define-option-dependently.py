def config(options):
    has = "enable" in options
    return {"value": 360 if has else 7, **({"enable": True} if has else {})}
