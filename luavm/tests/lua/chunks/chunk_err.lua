error("raised in chunk_err")
