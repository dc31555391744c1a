-- Cases the generated-program test (tests/generated.rs) found where luavm
-- differed from lua5.4: arithmetic edge cases, string coercions and the
-- messages of the errors they raise.

-- integer division and modulo of mininteger by -1 wrap (no overflow trap)
print(math.mininteger // -1, math.mininteger % -1, math.maxinteger // -1)
local m, n1 = math.mininteger, -1
print(m // n1, m % n1)

-- arithmetic on strings that do not convert: the string metamethods' message
print(pcall(function() return "abc" + 1 end))
print(pcall(function() return {} + "x" end))
print(pcall(function() return nil * "x" end))
print(pcall(function() local s = "1e" return s % 2 end))
print(pcall(function() return -"abc" end))
print(pcall(function() return 2 ^ "z" end))
print("10" + 1, "0x10" * 2, "3.0" // 2, -"2")

-- bitwise operations do not convert strings; a float without an integer
-- value is named
print(pcall(function() return "3" | 1 end))
print(pcall(function() local s = "3.5" return 1 & s end))
print(pcall(function() return ~"7" end))
print(pcall(function() local c = 1.5 return 1 | c end))
print(pcall(function() local c = 2^63 return c >> 1 end))
print(pcall(function() return 1.5 | 1 end))
print(pcall(function() return math.pi | 1 end))
print(pcall(function() local c = 0.5 return ~c end))
print(pcall(function() local t = {} return t | 1 end))
print(pcall(function() local t = {} return 1.5 | t end))

-- numeric for: numeric strings convert (a float loop), messages name the value
for i = "1", 2 do io.write(tostring(i), " ") end
for i = 1, "3" do io.write(tostring(i), " ") end
print()
print(pcall(function() for i = 1, {} do end end))
print(pcall(function() for i = "a", 2 do end end))
print(pcall(function() for i = 1, 2, "x" do end end))
print(pcall(function() for i = 1.5, nil do end end))

-- library argument checks
print(pcall(table.concat, {1, {}, 3}))
print(pcall(table.concat, {1, 2, nil, 4}, ",", 1, 4))
print(pcall(string.sub, "x"))
print(pcall(function() return ("x"):sub() end))
print(pcall(math.tointeger))
print(math.tointeger({}), math.tointeger("8"), math.tointeger(2.5))
print(pcall(rawlen, 5))
print(pcall(math.max))
print(math.max("a", "b"), math.min("a", "b"), math.max(1, 2.5, 2), math.min(3, 1.0, 1))
print(pcall(math.max, "10", 9))
print(pcall(math.min, 1, "x"))
print(math.type(math.random(0)))
print(pcall(math.random, 5, 1))
print(pcall(math.random, 0.5))
print(math.abs("-2"), math.abs(-2), math.abs(-2.0), math.abs(math.mininteger))
print(math.fmod(7, "3"), math.fmod(7, 3), math.fmod(math.maxinteger - 1, "9223372036854775807"))
print(math.floor("5"), math.ceil("5.5"), math.floor(-0.0))

-- table.remove on an empty table reads and clears t[0]
local t = {[0] = "zero"}
print(table.remove(t), t[0], #t)
local u = {}
print(table.remove(u), table.remove(u, 1), #u)
-- math.fmod checks its second argument first (as lua5.4 built by gcc)
print(pcall(math.fmod, "a", "b"))
print(pcall(math.fmod, 1.5, {}))
print(pcall(math.fmod, {}, 2))
