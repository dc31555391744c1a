-- error(msg, 2) inside metamethods names the operation that called them, as
-- lua5.4 does; a `__call` handler in `return t()` is a proper tail call (no
-- position at level 2); built-in functions print as functions.
local function thrower(...) error("bad op", 2) end
local mt = {__index = thrower, __newindex = thrower, __add = thrower, __lt = thrower,
  __le = thrower, __eq = thrower, __len = thrower, __concat = thrower, __unm = thrower,
  __call = thrower, __mod = thrower, __band = thrower, __shl = thrower, __bnot = thrower}
local a, b = setmetatable({}, mt), setmetatable({}, mt)
local tests = {
  function() return a.x end,
  function() a.x = 1 end,
  function() return a + 1 end,
  function() return 1 + a end,
  function() return a < b end,
  function() return a <= b end,
  function() return a == b end,
  function() return #a end,
  function() return a .. "s" end,
  function() return -a end,
  function() return a() end,
  function() local r = a() return r end,
  function() return a % 2 end,
  function() return a & 1 end,
  function() return a << 1 end,
  function() return ~a end,
  function() return a[1] end,
  function() a[1] = 2 end,
}
for i, f in ipairs(tests) do
  -- Twice: the second call runs compiled code.
  for _ = 1, 2 do
    print(i, pcall(f))
  end
end
print(pcall(tostring, setmetatable({}, {__tostring = thrower})))
local ro = setmetatable({}, {__newindex = function(_, k) error("read-only: " .. k, 2) end})
print(pcall(function() ro.field = 1 end))
print(tostring(print):sub(1, 10), tostring(string.sub):match("^function: ") ~= nil)
local called = setmetatable({}, {__call = function(self, x) return x * 2 end})
local function tail(x) return called(x) end
print(tail(21), select("#", tail(1)))
