-- string.format's %p: an object's address, "(null)" for other values, with
-- lua5.4's flags.
print(pcall(string.format, "%p", 1))
print(pcall(string.format, "%p", nil))
print(pcall(string.format, "%p", true))
print(string.format("%p", {}):match("^0x%x+$") ~= nil)
print(string.format("%p", print):match("^0x%x+$") ~= nil)
print(string.format("%p", function() end):match("^0x%x+$") ~= nil)
local t = {} print(string.format("%p", t) == string.format("%p", t))
print(string.format("%p", {}) ~= string.format("%p", {}))
print(string.format("[%10p]", 1), string.format("[%-10p]", 2))
print(pcall(string.format, "%.3p", {}))
print(pcall(string.format, "%#p", {}))
