-- Built-ins that compiled code calls without the general call path
-- (setmetatable, assert, math.sqrt, math.abs, math.floor), in the cases it
-- takes and in every case it must leave to the general path: the results and
-- errors must be lua5.4's either way. Each call sits in a loop, so its
-- function is compiled.

local function each(values, f)
  local out = {}
  for i = 1, #values do
    local ok, a, b = pcall(f, values[i])
    out[#out + 1] = tostring(ok) .. ":" .. tostring(a) .. (b ~= nil and ("," .. tostring(b)) or "")
  end
  return table.concat(out, " ")
end

local sqrt, abs, floor = math.sqrt, math.abs, math.floor
local numbers = {4, 2.25, 0, -0.0, -1, 1 / 0, -1 / 0, 0 / 0, "9", "x", {}, true,
                 math.maxinteger, math.mininteger, 2 ^ 53, -2 ^ 60, 3.7, -3.7,
                 1e300, -1e300, 140737488355327, -140737488355328, 140737488355328}
print("sqrt", each(numbers, function(x) return sqrt(x) end))
print("abs", each(numbers, function(x) return abs(x) end))
print("floor", each(numbers, function(x) return floor(x) end))
print("math.type", each(numbers, function(x) return math.type(floor(x)) end))
print("more args", pcall(sqrt, 4, 5), pcall(abs), pcall(floor, 2.5, "x"), pcall(sqrt, nil))

-- assert: its arguments back when the first is true; the message (any value)
-- raised when not.
print("assert", each({1, false, 0, "", 2.5, true}, function(v) return assert(v, "msg") end))
print("assert nil", pcall(function() return assert(nil, "msg") end))
print("assert messages", pcall(function() assert(false) end), pcall(function() assert(false, 42) end))
print("setmetatable one argument", pcall(setmetatable, {}))
print("assert values", assert(1, 2, 3, 4), assert(true), select("#", assert(1, nil, nil)))
print("assert error", pcall(assert, false), pcall(assert, nil, {1}), pcall(assert))
local function loud(n)
  local s = 0
  for i = 1, n do
    s = s + assert(i, "never")
  end
  return s
end
print("assert loop", loud(100))

-- setmetatable: a table without a metatable and a plain metatable are set
-- directly; every other case by the general path.
local Class = {}
Class.__index = Class
function Class:name() return "instance" end
local function make(n)
  local last
  for i = 1, n do
    last = setmetatable({i = i}, Class)
  end
  return last
end
print("setmetatable", make(50):name(), make(3).i, getmetatable(make(1)) == Class)
print("returns", select("#", setmetatable({}, nil)), rawequal(setmetatable(Class, Class), Class))
setmetatable(Class, nil)

local function try(t, mt)
  for _ = 1, 3 do
    local ok, e = pcall(setmetatable, t, mt)
    if not ok then return "error: " .. e end
  end
  return getmetatable(t) == mt and "set" or "not set"
end
print("again", try(setmetatable({}, {}), {}))
print("protected", try(setmetatable({}, {__metatable = "locked"}), {}))
print("not a table", try(1, {}), try({}, 2), try({}, nil))
local collected = 0
do
  local function finalized(n)
    for _ = 1, n do
      setmetatable({}, {__gc = function() collected = collected + 1 end})
    end
  end
  finalized(10)
end
collectgarbage()
collectgarbage()
print("__gc", collected)
local weak = {}
local function make_weak(n)
  for _ = 1, n do
    weak = setmetatable({}, {__mode = "v"})
  end
end
make_weak(2)
weak[1] = {}
collectgarbage()
print("__mode", weak[1])

-- Not built-ins any more: a global replaced by a Lua function.
local real_assert = assert
assert = function(v, m) return "mine", v, m end
local function call_assert(n)
  local r
  for _ = 1, n do r = {assert(false, "m")} end
  return table.concat({tostring(r[1]), tostring(r[2]), tostring(r[3])}, ",")
end
print("replaced", call_assert(5))
assert = real_assert
print("restored", pcall(call_assert, 5))
