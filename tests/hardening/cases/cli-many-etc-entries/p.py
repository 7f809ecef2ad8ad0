config = {'environment.etc': {f'many/e{i}.conf': {'text': str(i)} for i in range(3000)}}
