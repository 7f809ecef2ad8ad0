def config(options):
    has = "enable" in options.set
    return {"set": {"value": 360 if has else 7, **({"enable": True} if has else {})}}
