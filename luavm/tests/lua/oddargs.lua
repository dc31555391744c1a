-- Odd arguments to os.date, os.time and load, and a weak table cleared during
-- a traversal: errors or results, never a crash (the same count as lua5.4).
local vals = {0, -1, 1, math.maxinteger, math.mininteger, 2^53, -2^63, 1e308, -1e308, 0.5, "x", "10", {}, true, nil, 2^31, -2^31, 67767976233316800}
local n = 0
for _, a in ipairs({"!*t", "*t", "%c", "!%c", "%Y%j%U%V%G%z%Z", "!%x%X%p%I", "", "%", "%E", "%O", "%Ec", "!"}) do
  for i = 1, 18 do
    local ok, r = pcall(os.date, a, vals[i])
    n = n + 1
  end
end
for i = 1, 18 do for j = 1, 18 do
  pcall(os.time, {year = vals[i], month = vals[j], day = vals[(i + j) % 18 + 1], hour = vals[(i * j) % 18 + 1], min = vals[j], sec = vals[i], isdst = vals[(i + 3) % 18 + 1]})
  n = n + 1
end end
for _, m in ipairs({"b", "t", "bt", "", "x", 5}) do
  pcall(load, "return 1", "n", m)
  pcall(load, function() return nil end, nil, m, {})
  pcall(load, "\27Lua", nil, m)
end
local ok = pcall(load, function() return {} end)
local t = setmetatable({}, {__mode = "kv"})
for i = 1, 1000 do t[{}] = {} t[i] = function() end t[tostring(i)] = {} end
for k, v in pairs(t) do t[k] = nil end
collectgarbage()
for i = 1, 100 do t[#t + 1] = {} end
table.sort(t, function(a, b) return tostring(a) < tostring(b) end)
print("ok", n)
