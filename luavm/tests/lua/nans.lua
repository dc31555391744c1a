-- float arithmetic at the edges: infinities, signed zeros, subnormals and NaNs
-- (compiled code keeps a float result's bits as the value: every NaN it makes
-- must still be a float, compare unequal to itself and print as lua5.4's)

local function f(a, b)
  local r = {}
  r[1] = a + b; r[2] = a - b; r[3] = a * b; r[4] = a / b
  local out = {}
  for i = 1, 4 do
    local x = r[i]
    out[i] = tostring(x) .. ":" .. math.type(x) .. ":" .. tostring(x ~= x) .. ":" .. tostring(x == x)
  end
  return table.concat(out, " ")
end

local inf, nan = math.huge, 0.0 / 0.0
local vals = {0.0, -0.0, 1.5, -2.25, inf, -inf, nan, -nan, 1e308, -1e308, 5e-324}
for _, a in ipairs(vals) do
  for _, b in ipairs(vals) do
    -- (two NaNs: which one a sum or product keeps depends on how the C
    -- compiler ordered lua5.4's operands)
    if a == a or b == b then
      print(a, b, f(a, b))
    end
  end
end

-- NaN results flow on: into tables, comparisons, formats and loops
local n = inf * 0.0
print(n ~= n, n + 1.0 ~= n + 1.0, math.type(n), type(n), string.format("%.1f", 1.0))
local t = {n, -n, n * 2.0, inf - inf}
for i = 1, #t do io.write(tostring(t[i] ~= t[i]), " ") end
print(#t)
local acc = 0.0
for i = 1, 10 do acc = acc + (i % 3 == 0 and nan or 1.0) * 0.5 end
print(acc ~= acc)
print(pcall(function() local k = inf - inf; t[k] = 1 end))
print(math.max(1.0, 2.0) / 0.0, -1.0 / 0.0, 0.0 / -1.0, -(0.0 / 1.0))
