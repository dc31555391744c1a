io.write("a", 1, " ", 2.5, " ", 1e100, "\n")
io.stdout:write("through ", "stdout", "\n"):write("chained\n")
print(io.write("x") == io.stdout)
local f = io.stdout
f:write(string.format("%5.1f|\n", 3.14159))
