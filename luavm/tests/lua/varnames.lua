-- Errors name the value as lua5.4 names what its instructions fetched:
-- "integer index" for small integer keys, "?" for other computed keys, the
-- for iterator with its position.
local t = {}
print(pcall(function() t[1]() end))
print(pcall(function() return t[1][2] end))
local k = "key"
print(pcall(function() return t[k].z end))
print(pcall(function() return t[300].z end))
print(pcall(function() return t[-1].z end))
print(pcall(function() return t[1.5].z end))
print(pcall(function() return t[true].z end))
print(pcall(function() return t.a.b end))
print(pcall(function() return t["x y"].b end))
print(pcall(function() return t[1] + 1 end))
print(pcall(function() return -t[k] end))
print(pcall(function() return #t[2] end))
print(pcall(function() return t[0] .. "x" end))
print(pcall(function() t[255]() end))
print(pcall(function() t[256]() end))
print(pcall(function() for k in nil do end end))
print(pcall(function() for k in 5 do end end))
print(pcall(function() for k in t[1] do end end))
print(pcall(function() local x = _ENV[1] + 1 end))
print(pcall(function() return undefinedglobal.x end))
print(pcall(function() return t.x:y() end))
