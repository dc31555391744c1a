-- A function stored in a loaded module (a global, a field of `string`) is
-- named by that in a traceback, however its caller reached it (a local
-- alias, a table field, a method call on a string, a tail call), as lua5.4.4
-- names it. The standard modules are in package.loaded.
print(require("string") == string, package.loaded._G == _G, package.loaded.math == math)
function string.shout(s, n)
  if n == 0 then error("shouted " .. s) end
  return s:shout(n - 1)
end
function relay(s)
  local r = s:shout(2)
  return r
end
local alias = relay
local holder = {go = function(s) local v = alias(s); return v end}
function start(s)
  local v = holder.go(s)
  return v
end
print(pcall(start, "hey"))
local later = start
later("you")
