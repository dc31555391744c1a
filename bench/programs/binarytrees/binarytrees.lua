-- The Computer Language Benchmarks Game's binary-trees: allocation-heavy, many
-- short-lived trees and one long-lived tree. Argument: max depth (default 16).
local function make(d)
  if d == 0 then return { left = nil, right = nil } end
  return { left = make(d - 1), right = make(d - 1) }
end

local function check(t)
  if t.left == nil then return 1 end
  return 1 + check(t.left) + check(t.right)
end

local n = 16
if arg[1] then n = tonumber(arg[1]) end
local min_depth = 4
local max_depth = math.max(min_depth + 2, n)
local stretch = max_depth + 1
io.write(string.format("stretch tree of depth %d\t check: %d\n", stretch, check(make(stretch))))
local long_lived = make(max_depth)
local d = min_depth
while d <= max_depth do
  local iterations = 2 ^ (max_depth - d + min_depth)
  local sum = 0
  for i = 1, iterations do
    sum = sum + check(make(d))
  end
  io.write(string.format("%d\t trees of depth %d\t check: %d\n", iterations, d, sum))
  d = d + 2
end
io.write(string.format("long lived tree of depth %d\t check: %d\n", max_depth, check(long_lived)))
