-- Proper tail calls run in constant stack; deep non-tail recursion works to
-- lua5.4's depth; a runaway one is a clean "stack overflow" error.
local function loop(n, acc) if n == 0 then return acc end return loop(n - 1, acc + 1) end
print(loop(1000000, 0))
local obj = {}
function obj:count(n) if n == 0 then return "done" end return self:count(n - 1) end
print(obj:count(200000))
local function even(n) if n == 0 then return true end return odd(n - 1) end
function odd(n) if n == 0 then return false end return even(n - 1) end
print(even(100001))
local function deep(n) if n == 0 then return 0 end return 1 + deep(n - 1) end
print(deep(100000))
local ok, e = pcall(deep, 1e7)
print(ok, e)
print(select("#", (function() return print("tail builtin") end)()))
local function sum(...) local s = 0 for i = 1, select("#", ...) do s = s + select(i, ...) end return s end
local function fwd(...) return sum(...) end
print(fwd(1, 2, 3, 4, 5))

-- Tail calls of every kind of callee, from compiled and interpreted frames:
-- a Lua function with fewer or more arguments than parameters, a vararg
-- function, a method, a built-in, a bound built-in (gmatch's iterator,
-- coroutine.wrap's function), a table with __call, a value that cannot be
-- called (the error names it), across collections that move objects.
local function two(a, b) return tostring(a) .. "," .. tostring(b) end
local function fewer(x) return two(x) end
local function more(x) return two(x, x + 1, x + 2) end
local function va(...) return select("#", ...), ... end
local function tova(x) return va(x, nil, x) end
print(fewer(1), more(2), tova(3))
local callable = setmetatable({}, {__call = function(self, a, b) return "called", a, b end})
local function tocallable(a) return callable(a, a * 2) end
print(tocallable(21))
local function tobuiltin(s) return string.upper(s) end
print(tobuiltin("tail"))
local it = string.gmatch("one two three", "%a+")
local function tobound() return it() end
print(tobound(), tobound(), tobound(), tobound())
local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i * 10) end end)
local function towrapped() return gen() end
print(towrapped(), towrapped(), towrapped())
local function tonil() return nothing_here(1) end
print(pcall(tonil))
local function tofield(t) return t.missing(1) end
print(pcall(tofield, {}))
local Acc = {}
Acc.__index = Acc
function Acc:add(n, keep)
  if n == 0 then return self.total, #keep end
  self.total = self.total + n
  keep[#keep + 1] = {n, tostring(n)}
  local junk = {}
  for j = 1, 20 do junk[j] = {j} end
  return self:add(n - 1, keep)
end
local acc = setmetatable({total = 0}, Acc)
print(acc:add(3000, {}))
local function check(keep, i)
  if i > #keep then return "checked" end
  if keep[i][2] ~= tostring(keep[i][1]) then return "bad at " .. i end
  return check(keep, i + 1)
end
local kept = {}
for i = 1, 5000 do kept[i] = {i, tostring(i), {}} end
collectgarbage()
print(check(kept, 1))
local co = coroutine.wrap(function(n)
  local function down(k) if k == 0 then return coroutine.yield("bottom") end return down(k - 1) end
  return down(n)
end)
print(co(100000), co("resumed"))
