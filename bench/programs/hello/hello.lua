-- Startup time: the smallest complete program.
io.write("hello, world\n")
