-- io.read: numerals as lua5.4 scans them (hex, exponents, a failing read
-- stops the rest), lines with and without their newline, counts, "a", and
-- the end of input. Run with the input of `tests/lua.rs` and with none.
print(io.read("n", "n", "n"))
print(io.read(3), io.read(0), io.read("*l"))
print(io.read("n"))
print(io.read("l"))
print(io.read("n"), io.read("a"))
print(io.read(0), io.read("l"), io.read(5), io.read("L"), io.read("n"))
print(type(io.stdout), io.type(io.stdout), io.type({}), tostring(io.stdout):sub(1, 6))
print(pcall(io.read, "x"))
