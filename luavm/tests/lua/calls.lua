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
