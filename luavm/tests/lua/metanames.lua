-- More cases the generated programs found (metatables, string.format, math):
-- __name names the type in runtime errors, <= falls back to not (b < a)
-- through __lt, %u, "string contains zeros", math.floor of numeric strings.

local mt = {__name = "MyType"}
local a = setmetatable({}, mt)
print(pcall(function() return a + 1 end))
print(pcall(function() return 1 & a end))
print(pcall(function() return a .. "x" end))
print(pcall(function() return a() end))
print(pcall(function() return #a < 1 end))
print(pcall(function() return -a end))
print(pcall(function() return a < a end))
print(pcall(function() return a < 1 end))
print(pcall(function() return 1 <= a end))
print(pcall(function() for i = 1, a do end end))
print(pcall(function() return "x" + a end))
mt.__name = 42 -- not a string: the type name
print(pcall(function() return a + 1 end))

-- __le absent: a <= b is not (b < a)
local lt = {__lt = function(x, y) print("lt", x.v, y.v) return x.v < y.v end}
local p, q = setmetatable({v = 1}, lt), setmetatable({v = 2}, lt)
print(p <= q, q <= p, p >= q, p <= p)
local le = {__le = function() return "yes" end, __lt = function() return false end}
local r = setmetatable({}, le)
print(r <= r, r >= r, r < r)
print(pcall(function() return {} <= {} end))

print(string.format("%u|%5u|%-5u|%05u", 3, 42, 7, 9), string.format("%u", -1))
print(pcall(string.format, "%u", 1.5))
print(pcall(string.format, "%5s", "a\0b"))
print(pcall(string.format, "%.1s", "a\0b"))
print(string.format("%s", "a\0b") == "a\0b")
print(math.floor("9223372036854775807"), math.ceil("9007199254740993"), math.floor("7"), math.ceil(" 2.5 "))
