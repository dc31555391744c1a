-- Frames of metamethods are "metamethod 'index'" (and add, newindex, len, ...)
-- in tracebacks, from both debug.traceback and an uncaught error.
local mt = {}
mt.__add = function(a, b) error("add!") end
mt.__newindex = function(t, k, v) error("newindex " .. k) end
mt.__len = function() error("len!") end
mt.__concat = function() error("concat!") end
mt.__lt = function() error("lt!") end
mt.__le = function() error("le!") end
mt.__unm = function() error("unm!") end
mt.__eq = function() error("eq!") end
mt.__index = function(t, k) return debug.traceback("in index " .. k) end
mt.__tostring = function() error("tostring!") end
local a, b = setmetatable({}, mt), setmetatable({}, mt)
for _, f in ipairs({
  function() return a + 1 end, function() a.x = 1 end, function() return #a end,
  function() return a .. "s" end, function() return a < b end, function() return a <= b end,
  function() return -a end, function() return a == b end, function() return tostring(a) end,
}) do
  print(select(2, xpcall(f, debug.traceback)))
end
print(a.field)
local t = setmetatable({}, {__index = function(t, k) error("idx " .. k) end})
local x = t.foo
