return x_from_env + 1
