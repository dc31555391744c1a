-- Allocation-heavy: trees and strings, checked after many collections.
local function tree(d)
  if d == 0 then return {} end
  return {left = tree(d - 1), right = tree(d - 1)}
end
local function count(t)
  if t.left == nil then return 1 end
  return 1 + count(t.left) + count(t.right)
end
local keep = tree(12)
local total = 0
for i = 1, 40 do
  local t = tree(10)
  total = total + count(t)
end
print(total, count(keep))
local strs = {}
for i = 1, 20000 do strs[i] = "s" .. i end
local ok = true
for i = 1, 20000 do if strs[i] ~= "s" .. i then ok = false end end
print(ok, #strs)
local map = {}
for i = 1, 5000 do map["key" .. i] = {i, tostring(i)} end
local sum = 0
for i = 1, 5000 do sum = sum + map["key" .. i][1] end
print(sum)
collectgarbage()
print(count(keep), map.key77[2], strs[19999])
