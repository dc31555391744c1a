-- debug.traceback: messages, levels, frame names, xpcall handlers (the
-- frames the error unwound first), pcall, deep stacks (first 10, last 11).
print(debug.traceback("direct"))
print(debug.traceback("level 2", 2))
print(debug.traceback())
print(debug.traceback({}) ~= nil, type(debug.traceback({})))
print(debug.traceback(12))
local function inner() return debug.traceback("from inner") end
local function outer() local s = inner() return s end
print(outer())
local t = {}
function t.method(self) return debug.traceback("from method") end
print(t:method())
local function boom() error("boom") end
print(xpcall(boom, debug.traceback))
print(xpcall(function() local x = nil; return x.y end, debug.traceback))
print(xpcall(boom, function(m) return debug.traceback("handled: " .. m, 1) end))
print(pcall(function() return debug.traceback("in pcall") end))
local function rec(n) if n == 0 then return debug.traceback("deep") end return (rec(n - 1)) end
print(rec(30))
for depth = 19, 24 do
  local function rec(n) if n == 0 then return debug.traceback("d" .. depth) end return (rec(n - 1)) end
  local s = rec(depth)
  print(s:match("skipping %d+ levels") or "no skip", select(2, s:gsub("\n", "")))
end
print(select(2, xpcall(function() error({}) end, debug.traceback)) ~= nil)
for w in string.gmatch("ab", "%a") do print(debug.traceback("in for body")) break end
print(pcall(debug.traceback, "x", "notanumber"))
