local V = {}
V.__index = V
function V.new(x, y) return setmetatable({x = x, y = y}, V) end
function V.__add(a, b) return V.new(a.x + b.x, a.y + b.y) end
function V.__eq(a, b) return a.x == b.x and a.y == b.y end
function V.__lt(a, b) return a.x < b.x end
function V.__le(a, b) return a.x <= b.x end
function V.__tostring(v) return "(" .. v.x .. ", " .. v.y .. ")" end
function V.__len(v) return 2 end
function V.__call(v, k) return v.x * k end
function V.__concat(a, b) return tostring(a) .. "|" .. tostring(b) end
function V.__unm(a) return V.new(-a.x, -a.y) end
function V:norm1() return math.abs(self.x) + math.abs(self.y) end
local a, b = V.new(1, 2), V.new(3, 4)
print(tostring(a + b), a == V.new(1, 2), a < b, a <= b, b < a, #a, a(10), a .. b, tostring(-a), a:norm1())
local defaults = setmetatable({}, {__index = function(t, k) return k .. "!" end})
print(defaults.hello, rawget(defaults, "hello"))
local log = {}
local proxy = setmetatable({}, {__newindex = function(t, k, v) log[#log + 1] = k; rawset(t, k, v) end})
proxy.a = 1; proxy.b = 2; proxy.a = 3
print(#log, proxy.a, proxy.b)
local Base = {}
Base.__index = Base
function Base.new() return setmetatable({}, Base) end
function Base:name() return "base" end
function Base:hello() return "hello from " .. self:name() end
local Derived = setmetatable({}, {__index = Base})
Derived.__index = Derived
function Derived.new() return setmetatable({}, Derived) end
function Derived:name() return "derived" end
print(Base.new():hello(), Derived.new():hello())
print(getmetatable("x").__index == string, ("%d"):format(7))
local prot = setmetatable({}, {__metatable = "locked"})
print(getmetatable(prot), pcall(setmetatable, prot, {}))
