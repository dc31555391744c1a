-- "attempt to call" messages name the callee as lua5.4 does: a method, a
-- field, a global, a local, and nothing for the result of another call.
local t = {f = function() return "s" end, g = function() return nil end}
print(pcall(function() return t:f()() end))
print(pcall(function() t:f()() end))
print(pcall(function() local x = t:g()(1) end))
print(pcall(function() t:nope() end))
print(pcall(function() t.nope() end))
print(pcall(function() return t.nope() end))
print(pcall(function() return t:nope() end))
print(pcall(function() (t.f)()() end))
print(pcall(function() local f = t.f; f()() end))
print(pcall(function() undefinedglobal() end))
