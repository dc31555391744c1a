-- Concatenation: strings made in place at their size, short ones interned.
local s = ""
for i = 1, 300 do s = s .. string.char(97 + i % 26) end
print(#s, s:sub(1, 30), s:sub(-10))
local parts = {}
for i = 1, 50 do parts[#parts + 1] = "k" .. i end
local t = {}
for i, k in ipairs(parts) do t[k] = i end
print(t.k1, t.k25, t["k" .. 50], t["k" .. "50"])
local a, b = "abc", "def"
print(a .. b == "abcdef", (a .. b) == ("ab" .. "cdef"), #(a .. ""), "" .. "" == "")
print(1 .. 2, 1.5 .. "x", "y" .. 2^53, -0.0 .. "")
local long = string.rep("x", 100)
local l2 = long .. long
print(#l2, l2 == string.rep("x", 200), l2:sub(99, 102))
local keys = {}
keys[long .. "1"] = true
print(keys[string.rep("x", 100) .. "1"], keys[long .. "2"])
local acc = {}
for i = 1, 200 do
  local piece = ("p" .. i) .. ("q" .. i)
  acc[#acc + 1] = piece
end
print(#acc, acc[1], acc[200], #table.concat(acc))
print(pcall(function() return "x" .. {} end))
print(pcall(function() return nil .. "x" end))
local mt = {__concat = function(x, y) return "meta" end}
print(setmetatable({}, mt) .. "s", "s" .. setmetatable({}, mt))
