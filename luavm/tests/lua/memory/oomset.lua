-- Not compared with lua5.4 by the harness (it would fill the memory of the
-- machine): luavm runs it on small fixed heaps (tests/lua.rs).
-- Fills the heap through table stores until it runs out: "not enough memory"
-- is caught, and every table kept before it still holds its elements. A
-- store that fails for want of memory has collected first, so what it stored
-- into may have moved: nothing may be written through the old address.
local keep = {}
local ok, e = pcall(function()
  for r = 1, 1e9 do
    local t = {}
    for i = 1, 1000 do t[i] = i end
    local u = {}
    for i = 1, 300 do u["k" .. i] = i end
    keep[r] = {t, u}
  end
end)
print(ok, e)
local bad = 0
for r = 1, #keep do
  local p = keep[r]
  local t, u = p[1], p[2]
  if type(t) ~= "table" or #t ~= 1000 or t[1000] ~= 1000
     or type(u) ~= "table" or u.k1 ~= 1 or u.k300 ~= 300 then
    bad = bad + 1
  end
end
print(#keep > 10, bad)
keep = nil
collectgarbage()
local t = {}
for i = 1, 1000 do t[i] = i end
print(#t, type(t), type(type))
