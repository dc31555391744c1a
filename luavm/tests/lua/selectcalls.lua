-- select: '#' and an inline integer index without the interpreter's call
-- (compiled code, not in a tail call); errors and conversions by lua5.4's rules.
local function f(...) return select("#", ...) end
print(f(), f(nil), f(1, nil), f(nil, nil, nil))
local function g(n, ...) return select(n, ...) end
print(g(1, "a", "b", "c"))
print(g(2, "a", "b", "c"))
print(g(3, "a", "b", "c"))
print(g(4, "a", "b", "c"))
print(g(10, "a", "b", "c"))
print(g(-1, "a", "b", "c"))
print(g(-3, "a", "b", "c"))
print(pcall(g, -4, "a", "b", "c"))
print(pcall(g, 0, "a"))
print(pcall(g, "x", "a"))
print(g("2", "a", "b"), g(2.0, "a", "b"))
print(pcall(g, 2.5, "a", "b"))
print(select("#"), select(1), select(-1, 1))
print(pcall(select))
local t = {select(2, 10, 20, 30)} print(#t, t[1], t[2])
print((select(2, "x", "y", "z")))
local s = 0
for i = 1, 100 do s = s + select("#", i, i, i) + select(2, i, i * 2) end
print(s)
-- Indices at the integers' ends (math.mininteger's negation overflows).
print(pcall(select, math.mininteger, 1, 2))
print(pcall(g, math.mininteger, "a"))
print(select("#", g(math.maxinteger, "a", "b")))
print(pcall(g, -(1 << 40), "a"))
print(g(1 << 40, "a"))
