-- Classes as Are We Fast Yet writes them (a fresh metatable per object whose
-- __index is the class; subclasses chained by the class's own metatable), and
-- every way a program can change what a field lookup along such a chain finds
-- while compiled code keeps looking it up at the same place: the JIT's inline
-- caches must see each change.

local Base = {}
Base.__index = Base
function Base.new(x) return setmetatable({x = x}, {__index = Base}) end
function Base:kind() return "base" end
function Base:get() return self.x end
function Base:twice() return 2 * self:get() end

local Mid = setmetatable({}, {__index = Base})
function Mid.new(x) return setmetatable({x = x}, {__index = Mid}) end
function Mid:kind() return "mid" end

local Leaf = setmetatable({}, {__index = Mid})
function Leaf.new(x) return setmetatable({x = x}, {__index = Leaf}) end

-- The same three lookups many times at one site each; the loop makes the
-- function compiled.
local function probe(o, n)
  local kinds, sum, missing = nil, 0, 0
  for _ = 1, n do
    kinds = o:kind()
    sum = sum + o:twice()
    if o.absent == nil then missing = missing + 1 end
  end
  return kinds .. "," .. sum .. "," .. missing .. "," .. tostring(o.absent)
end

local leaf, mid, base = Leaf.new(3), Mid.new(5), Base.new(7)
print("start", probe(leaf, 50), probe(mid, 50), probe(base, 50))

-- Each change is made between two runs of `probe` on the same receiver (its
-- caches filled for that receiver's class just before).
local function step(name, o, change)
  local before = probe(o, 20)
  change()
  print(name, before, probe(o, 20))
end

-- A method added to the class in the middle shadows the one above it.
step("shadow", leaf, function() function Mid:get() return self.x + 100 end end)
step("shadow mid", mid, function() end)
step("shadow base", base, function() end)
-- Removed again: the one above shows through.
step("unshadow", leaf, function() Mid.get = nil end)
-- Revived (a dead key stored again, by compiled code this time).
local function define_get(f)
  for _ = 1, 3 do Mid.get = f end
end
step("revived", leaf, function()
  define_get(function(self) return self.x * 10 end)
end)
step("removed", leaf, function() Mid.get = nil end)
-- A field nobody had, added at the root: the cached "not there" must go.
step("absent added", leaf, function() Base.absent = "now here" end)
step("absent removed", leaf, function() Base.absent = nil end)
-- The method where it was found, replaced in place.
step("replaced", base, function() function Base:kind() return "base2" end end)
step("replaced back", base, function() function Base:kind() return "base" end end)
-- A class's metatable's __index redirected to another class, and back.
local Other = {}
function Other:kind() return "other" end
function Other:twice() return -1 end
step("redirected", leaf, function() getmetatable(Mid).__index = Other end)
step("restored", leaf, function() getmetatable(Mid).__index = Base end)
getmetatable(Mid).__index = nil
print("cut", pcall(probe, leaf, 1))
getmetatable(Mid).__index = Base
print("restored", probe(leaf, 20))
-- A class given a new metatable, and its old parent back.
step("new metatable", leaf, function() setmetatable(Mid, {__index = Other}) end)
step("old parent", leaf, function() setmetatable(Mid, {__index = Base}) end)
-- An __index function in the chain (no cache: the function runs every time).
local calls = 0
step("function", leaf, function()
  setmetatable(Base, {__index = function(_, k)
    calls = calls + 1
    return k == "absent" and "from function" or nil
  end})
end)
print("calls", calls)
step("no function", leaf, function() setmetatable(Base, nil) end)
-- rawset, and a weak class.
step("rawset", leaf, function() rawset(Mid, "kind", function() return "raw" end) end)
step("weak", leaf, function()
  setmetatable(Mid, {__index = Base, __mode = "k"})
  Mid.kind = nil
end)
step("weak revived", leaf, function() function Mid:kind() return "mid" end end)

-- The object's own field shadows the class; removed, the class again.
step("own", leaf, function() leaf.kind = function() return "own" end end)
step("own removed", leaf, function() leaf.kind = nil end)

-- Many receivers of different classes at one site (the cache refills).
local objs = {}
for i = 1, 30 do
  objs[i] = (i % 3 == 0 and Base or i % 3 == 1 and Mid or Leaf).new(i)
end
local function mixed(n)
  local acc = {}
  for r = 1, n do
    for i = 1, #objs do
      local o = objs[i]
      if r == n then acc[#acc + 1] = o:kind() .. o:twice() end
    end
  end
  return table.concat(acc, " ")
end
print("mixed", mixed(20))

-- Collections between lookups (objects move under a moving plan): the caches
-- hold addresses, which a collection makes stale.
local function churn(n)
  local keep = {}
  for i = 1, n do
    keep[i % 100 + 1] = {i, tostring(i), Leaf.new(i)}
  end
  return #keep
end
for round = 1, 5 do
  local a = probe(leaf, 30)
  churn(20000)
  collectgarbage()
  local Grown = setmetatable({}, {__index = Leaf})
  for i = 1, 200 do Grown["m" .. i] = i end
  local g = setmetatable({x = round}, {__index = Grown})
  print("gc round", round, a, probe(leaf, 30), probe(g, 30), g.m150)
end

-- A class that stays where it is while the table holding its methods moves
-- (a generational plan's nursery collection copies the young holder, not the
-- old class): the cache must not read where the holder was.
local Old = setmetatable({}, {__index = Base})
local old = setmetatable({x = 1}, {__index = Old})
collectgarbage()
for round = 1, 4 do
  local H = {
    kind = function() return "young" .. round end,
    twice = function() return round end,
  }
  getmetatable(Old).__index = H
  local a = probe(old, 10)
  churn(40000)
  print("young holder", round, a, probe(old, 10))
end

-- The globals table on a chain, and a global named __index.
local G = setmetatable({}, {__index = _G})
local function global_lookup(n)
  local r
  for _ = 1, n do r = G.shared end
  return r
end
print("globals", global_lookup(5))
shared = "global value"
print("globals", global_lookup(5))
__index = "a global named __index"
print("globals", global_lookup(5), G.__index)
shared = nil
print("globals", global_lookup(5))

-- Hash parts rebuilt under the cache: a class growing many new keys.
local Big = {}
Big.__index = Big
function Big.new() return setmetatable({}, Big) end
Big.value = 1
local big = Big.new()
local function read_value(o, n)
  local s = 0
  for _ = 1, n do s = s + o.value end
  return s
end
for i = 1, 6 do
  print("rehash", i, read_value(big, 10))
  for j = 1, 40 * i do Big["k" .. i .. "_" .. j] = j end
  Big.value = Big.value + 1
end
