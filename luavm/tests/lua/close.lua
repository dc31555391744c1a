local function closer(name, log)
  return setmetatable({}, {__close = function(_, err) log[#log + 1] = name .. ":" .. tostring(err) end})
end
local log = {}
do
  local a <close> = closer("a", log)
  local b <close> = closer("b", log)
  local c <close> = nil
  log[#log + 1] = "body"
end
print(table.concat(log, " "))
log = {}
local function f()
  local x <close> = closer("x", log)
  return "ret"
end
print(f(), table.concat(log, " "))
log = {}
print(pcall(function()
  local y <close> = closer("y", log)
  error("boom", 0)
end))
print(table.concat(log, " "))
log = {}
for i = 1, 3 do
  local z <close> = closer("z" .. i, log)
  if i == 2 then break end
end
print(table.concat(log, " "))
print(pcall(function() local bad <close> = {} end))
log = {}
local function g() local w <close> = closer("w", log) return select("#", 1, 2) end
print(g(), table.concat(log, " "))
print(pcall(function()
  local e <close> = setmetatable({}, {__close = function() error("in close", 0) end})
  error("original", 0)
end))
log = {}
local function inner() log[#log + 1] = "inner" return "v" end
local function outer() local q <close> = closer("q", log) return inner() end
print(outer(), table.concat(log, " "))
