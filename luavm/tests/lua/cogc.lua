-- Coroutines under load: deep recursion and stack overflow inside them,
-- many abandoned generators (collected while suspended), many live ones,
-- and data kept by suspended coroutines across collections.

local function depth(n) if n == 0 then return 0 end return 1 + depth(n - 1) end
local deep = coroutine.wrap(function(n) coroutine.yield(depth(n)) return depth(n * 2) end)
print(deep(10000))
print(deep())

local function inf(n) return 1 + inf(n + 1) end
local ok, e = coroutine.resume(coroutine.create(function() return inf(1) end))
print(ok, (tostring(e):gsub("^.-:%d+: ", "")))
-- and the coroutine that failed gave its stack back: more run after it
for i = 1, 3 do
  print(coroutine.resume(coroutine.create(function() return depth(1000) end)))
end

local total = 0
for i = 1, 20000 do
  local g = coroutine.wrap(function() for j = 1, 3 do coroutine.yield(j + i % 2) end end)
  total = total + g()
end
print("abandoned", total)

local cos = {}
for i = 1, 2000 do
  cos[i] = coroutine.create(function(a)
    local t = {a}
    while true do t[#t + 1] = coroutine.yield(#t) end
  end)
  coroutine.resume(cos[i], i)
end
local s = 0
for r = 1, 5 do
  for i = 1, #cos do
    local _, n = coroutine.resume(cos[i], {r})
    s = s + n
  end
end
print("live", s)

local keep = {}
for i = 1, 200 do
  keep[i] = coroutine.wrap(function()
    local mine = {}
    for k = 1, 50 do mine[k] = string.rep(tostring(i), k % 7 + 1) end
    local r = 0
    while true do
      local junk = {}
      for k = 1, 100 do junk[k] = {k, tostring(k + r)} end
      local sum = 0
      for k = 1, 50 do sum = sum + #mine[k] end
      r = r + 1
      coroutine.yield(sum + #junk[100][2])
    end
  end)
end
local acc = 0
for r = 1, 20 do
  for i = 1, #keep do acc = acc + keep[i]() end
  if r % 5 == 0 then collectgarbage() end
end
print("kept", acc)

-- a suspended coroutine nothing refers to is collected
local weak = setmetatable({}, {__mode = "k"})
local function suspended_one(weak)
  local c = coroutine.create(function() local big = {} for i = 1, 1000 do big[i] = i end coroutine.yield() end)
  coroutine.resume(c)
  weak[c] = true
  weak[coroutine.create(print)] = true
end
suspended_one(weak)
collectgarbage()
collectgarbage()
local n = 0
for _ in pairs(weak) do n = n + 1 end
print("weak", n)

-- a generator chain, each level resuming the one below
local function chain(k)
  if k == 0 then
    return coroutine.wrap(function() for i = 1, 100 do coroutine.yield({i}) end end)
  end
  local below = chain(k - 1)
  return coroutine.wrap(function()
    for v in below do coroutine.yield({v[1] + 1}) end
  end)
end
local sum = 0
for v in chain(50) do sum = sum + v[1] end
print("chain", sum)
