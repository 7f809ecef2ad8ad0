imports = 'b.yaml'
