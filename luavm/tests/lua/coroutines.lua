-- Coroutines: the library's functions, statuses and messages, yields across
-- pcall and metamethods, refusals across built-ins, close and to-be-closed
-- variables, wrap's errors, nesting.

local co = coroutine.create(function(a, b)
  print("start", a, b)
  local c = coroutine.yield(a + b)
  print("got", c)
  local d, e = coroutine.yield(c * 2)
  print("got2", d, e)
  return "done", 99
end)
print(coroutine.status(co))
print(coroutine.resume(co, 1, 2))
print(coroutine.status(co))
print(coroutine.resume(co, 10))
print(coroutine.resume(co, "x", "y"))
print(coroutine.status(co))
print(coroutine.resume(co))
print(coroutine.close(co))

-- errors
local co2 = coroutine.create(function() error("boom") end)
print(coroutine.resume(co2))
print(coroutine.status(co2))
print(coroutine.close(co2))
print(coroutine.close(co2))
local co3 = coroutine.create(function() error({code = 1}) end)
local ok, e = coroutine.resume(co3)
print(ok, type(e), e.code)
print(coroutine.resume(coroutine.create(function() local x; return x.y end)))
print(pcall(coroutine.yield, 1))
print(select(2, coroutine.running()), coroutine.isyieldable())
print(type(coroutine.running()))
local w = coroutine.wrap(function() error("inner") end)
print(pcall(w))
print(pcall(function() w() end))
local w3 = coroutine.wrap(function() local x = nil; return x.y end)
print(pcall(function() return w3() end))
local w2 = coroutine.wrap(function() coroutine.yield(1) end)
w2() w2()
print(pcall(w2))
print(pcall(coroutine.resume, 1))
print(pcall(coroutine.create, 1))
print(pcall(coroutine.status))
print(pcall(coroutine.wrap, {}))

-- statuses seen from inside
co = coroutine.create(function()
  print(coroutine.status(co))
  print(coroutine.resume(co))
  print(pcall(coroutine.close, co))
end)
coroutine.resume(co)
local outer
outer = coroutine.create(function()
  local inner = coroutine.create(function()
    print("outer is", coroutine.status(outer))
    print(coroutine.isyieldable(), select(2, coroutine.running()))
    local main = coroutine.running()
    print(coroutine.status(outer), coroutine.isyieldable(outer))
    return 7
  end)
  print(coroutine.resume(inner))
  print(coroutine.status(inner))
end)
coroutine.resume(outer)
print(select('#', coroutine.resume(coroutine.create(function() end))))
print(coroutine.resume(coroutine.create(function(...) return select('#', ...) end), nil, nil))
print(type(co), tostring(co):match("^thread: ") ~= nil, co == co)
print(coroutine.resume(coroutine.create(print), "printed", "by", "print"))

-- yields across pcall, metamethods and for iterators
local cp = coroutine.create(function()
  local ok2, v = pcall(function()
    local r = coroutine.yield("in pcall")
    error("after " .. r)
  end)
  coroutine.yield(ok2, v)
  local ok3, v3 = xpcall(function() return coroutine.yield("in xpcall") end, debug.traceback)
  return ok3, v3
end)
print(coroutine.resume(cp))
print(coroutine.resume(cp, "resume2"))
print(coroutine.resume(cp))
print(coroutine.resume(cp, "last"))
local mt = {
  __index = function(t, k) return coroutine.yield(k) end,
  __add = function(a, b) return coroutine.yield("add") end,
  __lt = function(a, b) return coroutine.yield("lt") end,
  __concat = function(a, b) return coroutine.yield("concat") end,
}
local cm = coroutine.wrap(function()
  local t = setmetatable({}, mt)
  local r = {t.foo, t + 1, t < t, t .. "x"}
  return table.concat({tostring(r[1]), tostring(r[2]), tostring(r[3]), tostring(r[4])}, ",")
end)
print(cm()) print(cm("bar")) print(cm(42)) print(cm(true)) print(cm("cat"))
local function gen(n)
  return coroutine.wrap(function() for i = 1, n do coroutine.yield(i, i * i) end end)
end
local s = 0
for i, sq in gen(10) do s = s + i + sq end
print(s)

-- refused across a built-in that calls Lua code, as lua5.4 refuses
print(coroutine.resume(coroutine.create(function()
  table.sort({3, 2, 1}, function(a, b) coroutine.yield() return a < b end)
end)))
print(coroutine.resume(coroutine.create(function()
  return tostring(setmetatable({}, {__tostring = function() coroutine.yield(1) return "x" end}))
end)))
print(coroutine.resume(coroutine.create(function()
  return string.gsub("abc", "%w", function(c) coroutine.yield(c) end)
end)))

-- close runs pending to-be-closed variables
local t = setmetatable({}, {__close = function(_, err) print("closed", err) end})
local c4 = coroutine.create(function()
  local x <close> = t
  coroutine.yield(1)
  print("never")
end)
print(coroutine.resume(c4))
print(coroutine.close(c4))
print(coroutine.status(c4), coroutine.resume(c4))
local c5 = coroutine.create(function()
  local x <close> = setmetatable({}, {__close = function() error("in close") end})
  coroutine.yield(1)
end)
coroutine.resume(c5)
print(coroutine.close(c5))
print(coroutine.close(c5))
print(coroutine.close(coroutine.create(print)))
local c6 = coroutine.create(function()
  local x <close> = t
  pcall(function() coroutine.yield(1) end)
  print("not reached: pcall does not catch the close")
end)
coroutine.resume(c6)
print(coroutine.close(c6))

-- nesting: each wrap adds its caller's position; lua5.4's limit
local function nest(n)
  if n == 0 then return coroutine.yield("bottom") end
  local c = coroutine.wrap(nest)
  return c(n - 1)
end
print(coroutine.resume(coroutine.create(nest), 150))
local okn, en = pcall(function() return coroutine.wrap(nest)(250) end)
print(okn, #en, select(2, en:gsub("coroutines.lua:%d+:", "")), en:sub(-16))

-- a producer and a consumer
local function producer()
  return coroutine.create(function()
    for _, w in ipairs({"alpha", "beta", "gamma"}) do coroutine.yield(w) end
    return nil
  end)
end
local function filter(p)
  return coroutine.create(function()
    local n = 0
    while true do
      local _, x = coroutine.resume(p)
      if not x then return nil end
      n = n + 1
      coroutine.yield(n .. ":" .. x:upper())
    end
  end)
end
local f = filter(producer())
while true do
  local _, x = coroutine.resume(f)
  if not x then break end
  print(x)
end
print(coroutine.status(f))

-- a load reader may not yield; os.exit inside a coroutine ends the program
local c7 = coroutine.wrap(function() print(load(function() coroutine.yield() end)) return "after" end)
print(c7())
local big = {}
for i = 1, 300000 do big[i] = i end
local counted = coroutine.wrap(function(...)
  local n = select('#', ...)
  while true do n = select('#', coroutine.yield(n)) end
end)
print(counted(table.unpack(big)), counted(table.unpack(big, 1, 10)), counted())
print(coroutine.resume(coroutine.create(function() return table.unpack(big) end)) and "many results")
io.write("before exit\n")
coroutine.resume(coroutine.create(function() os.exit(3) end))
print("not reached")
