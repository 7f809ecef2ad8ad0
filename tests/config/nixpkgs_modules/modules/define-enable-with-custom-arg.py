def config(custom):
    return {"enable": custom}
