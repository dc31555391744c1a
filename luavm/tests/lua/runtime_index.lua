local config = {server = {port = 80}}
print(config.server.port)
print(config.client.port)
