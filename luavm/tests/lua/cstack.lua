-- Calls made by C code nest at most as deep as in lua5.4 (LUAI_MAXCCALLS):
-- protected calls, metamethods, sort comparators, gsub callbacks; each
-- nesting beyond it fails with "C stack overflow" where lua5.4's does.
local t = setmetatable({}, {__index = function(t, k) return t[k] end})
print(pcall(function() return t.x end))
local depth = 0
local function f() depth = depth + 1; pcall(f) end
pcall(f) print(depth)
local d2 = 0
local function g() d2 = d2 + 1; local ok = pcall(g) end
g() print(d2)
local d3 = 0
local mt = {} mt.__add = function(a, b) d3 = d3 + 1; return a + b end
print(pcall(function() return setmetatable({}, mt) + 1 end), d3)
local d4 = 0
local function s(a, b) d4 = d4 + 1; table.sort({3, 2, 1}, s); return a < b end
print(pcall(table.sort, {3, 2, 1}, s), d4)
local function rethrow(n)
  local ok, e = pcall(rethrow, n + 1)
  if not ok then error(e) end
  return e
end
local ok, e = pcall(rethrow, 1)
print(ok, #e)
local d5 = 0
local function gs(s) d5 = d5 + 1; return (string.gsub("a", "a", gs)) end
print(pcall(gs, "a"), d5)
-- inside coroutines, counted from the resumer
local co = coroutine.wrap(function() local d = 0; local function h() d = d + 1; pcall(h) end; pcall(h); return d end)
print(co())
local function nest(n) if n == 0 then local d = 0; local function h() d = d + 1; pcall(h) end; pcall(h); return d end
  return coroutine.wrap(nest)(n - 1) end
print(nest(10))
-- suspended inside protected calls, resumed many times
local gen = coroutine.wrap(function() for i = 1, 300 do pcall(function() pcall(coroutine.yield, i) end) end return "end" end)
local last for i = 1, 301 do last = gen() end print(last)
-- deep Lua recursion is not limited by it
local function rec(n) if n == 0 then return 0 end return 1 + rec(n - 1) end
print(rec(10000))
