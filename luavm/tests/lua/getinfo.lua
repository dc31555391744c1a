-- debug.getinfo of levels and functions: sources, lines, names, parameter
-- counts, upvalues (with _ENV), errors. (A level's `func` is not given by
-- luavm: the dump leaves it out.)
local function dump(t)
  local keys = {}
  for k in pairs(t) do if k ~= "func" then keys[#keys + 1] = k end end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = k .. "=" .. tostring(t[k]) end
  return table.concat(out, " ")
end
print(dump(debug.getinfo(1)))
local function f(a, b, ...) return dump(debug.getinfo(1)), dump(debug.getinfo(2, "nSl")) end
print(f())
print(dump(debug.getinfo(print)))
print(dump(debug.getinfo(f, "Su")))
print(dump(debug.getinfo(0, "nSl")))
print(debug.getinfo(50), debug.getinfo(-1))
local t = {m = function(self) return debug.getinfo(1, "n") end}
print(dump(t:m()), dump(t.m(t)))
g = function() return debug.getinfo(1, "n") end
print(dump(g()))
local function up() return f end
print(dump(debug.getinfo(up, "u")), dump(debug.getinfo(function() return x end, "u")))
print(dump(debug.getinfo(function(...) local y = 1 return y end, "u")))
print(pcall(debug.getinfo, 1, ">"))
print(pcall(debug.getinfo, "x"))
print(pcall(debug.getinfo))
print(debug.getinfo(1, "S").source, debug.getinfo(1, "S").short_src)
print(debug.getinfo(1, "S").source:match("^@(.*)$"))
print(dump(debug.getinfo(2)))
print(debug.getinfo(print, "f").func == print, debug.getinfo(f, "f").func == f)
for k, v in ipairs({10}) do print(dump(debug.getinfo(1, "l"))) end
local mt = setmetatable({}, {__index = function(t, k) return dump(debug.getinfo(1, "n")) end})
print(mt.x)
local function tail() return debug.getinfo(1, "t") end
local function calls_tail() return tail() end
print(dump(calls_tail()), dump((tail())))
local co = coroutine.create(function(x)
  local function inner() coroutine.yield(dump(debug.getinfo(1, "nSl"))) end
  inner()
end)
print(coroutine.resume(co))
print(dump(debug.getinfo(co, 0, "nSl")))
print(dump(debug.getinfo(co, 1, "nSl")))
print(dump(debug.getinfo(co, 2, "nSl")))
print(debug.getinfo(co, 3, "nSl"))
local chunk = load("return debug.getinfo(1, 'S')")
local i = chunk()
print(i.short_src, i.what, i.linedefined)
