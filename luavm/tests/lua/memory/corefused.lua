-- More coroutines started than there are regions (16,384): the extra starts
-- are refused ("too many coroutines"), then, once the coroutines are
-- dropped, starts succeed again.
local cs = {}
local refused, why = 0, nil
for i = 1, 20000 do
  local c = coroutine.create(function(a) coroutine.yield(a) end)
  local ok, e = coroutine.resume(c, i)
  if not ok then refused, why = refused + 1, e end
  cs[#cs+1] = c
end
print(refused > 0, why)
cs = nil
collectgarbage()
local ok2 = 0
for i = 1, 1000 do
  local c = coroutine.create(function(a) coroutine.yield(a) end)
  if coroutine.resume(c, i) then ok2 = ok2 + 1 end
end
print(ok2)
