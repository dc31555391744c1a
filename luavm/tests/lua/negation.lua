-- Unary minus: integers (inline range, its edges, boxed), floats (signed
-- zeros, infinities), strings, folded literals, and an error; on both engines.
local t = {5, -5, 0, 2^47, -(2^47), 140737488355327, -140737488355328, math.mininteger, math.maxinteger, 1.5, -0.0, 0.0, 1/0}
for _, x in ipairs(t) do
  local y = -x
  print(math.type(x), x, math.type(y), y, -y == x)
end
local function neg(x) return -x end
for i = 1, 3 do print(neg(-140737488355328), neg(140737488355328), neg(-140737488355327)) end
print(- - 3, -9223372036854775808, - 9223372036854775807, -0x7fffffffffffffff - 1, math.type(-9223372036854775808))
print(-"2", -" 3.5 ")
print(pcall(function() return -{} end))
for i = 3, 1, -1 do io.write(i, " ") end print()
