-- __index/__newindex values that are neither tables nor functions are
-- indexed (a string through its metatable); a failing xpcall handler is
-- "error in error handling".
local s = setmetatable({}, {__index = "abc"})
print(pcall(function() return s.len == string.len end))
print(pcall(function() return s.upper(s.rep("x", 2)) end))
local n = setmetatable({}, {__index = 5})
print(pcall(function() return n.x end))
print(xpcall(function() error("a") end, function(m) error("b") end))
print(pcall(xpcall, function() error("a") end, function(m) error("b") end))
print(xpcall(function() error("a") end, function(m) return "handled " .. m end))
print("after")
local s = setmetatable({}, {__index = "abc"})
print(pcall(function() return s.len == string.len end))
local n = setmetatable({}, {__newindex = "abc"})
print(pcall(function() n.x = 1 end))
