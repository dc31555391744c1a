-- Values taken out of a weak table while the collector marks concurrently,
-- then kept in ordinary tables: they must stay whole. Each value is a table
-- with an array of its own lines, so that one freed too early is overwritten.
local cache = setmetatable({}, {__mode = "v"})
local keep, kr, ki = {}, {}, {}
local checked = 0
for round = 1, 150 do
  for i = 1, 2000 do
    local t = {round, i, "x" .. i}
    for z = 4, 120 do t[z] = z end
    cache[i] = t
  end
  for j = 1, 3000 do local g = {j, j, j} end
  for i = 1, 2000, 5 do
    local v = cache[i]
    if v then local m = #keep + 1; keep[m] = v; kr[m] = v[1]; ki[m] = v[2] end
  end
  if #keep > 8000 then
    for k = 1, #keep do
      local v = keep[k]
      if type(v) ~= "table" or v[1] ~= kr[k] or v[2] ~= ki[k]
         or v[3] ~= "x" .. ki[k] or v[100] ~= 100 then
        error("value " .. k .. " of round " .. round .. " was freed while kept")
      end
      checked = checked + 1
    end
    keep, kr, ki = {}, {}, {}
  end
end
print(checked > 10000)
