-- Table constructors, whose string-keyed and positional items compiled code
-- stores inline into the new table: every case it must leave to the general
-- path (nil values, repeated keys, keys made at run time, integer keys that
-- move between the parts, many items, collections between the items). Keys
-- are printed sorted: the order of `pairs` is not part of the language.

local function show(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    if type(a) == type(b) then return a < b end
    return type(a) == "number"
  end)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = tostring(k) .. "=" .. tostring(t[k]) end
  return "{" .. table.concat(out, " ") .. "}"
end

local function build(x, y, n)
  local last
  for _ = 1, n do
    last = {x = x, y = y, sum = x + y, name = "p" .. x}
  end
  return last
end
print("plain", show(build(1, 2, 10)))

local function odd(x, k)
  local r = {}
  for i = 1, 3 do
    r[1] = {a = nil, b = x}
    r[2] = {a = 1, a = 2, a = x}
    r[3] = {[k] = "runtime", same = "constant", [k .. ""] = "again"}
    r[4] = {["same" .. ""] = "runtime first", same = "constant after"}
    r[5] = {x, nil, x}
    r[6] = {nil, nil, 3}
    r[7] = {[3] = "three", "one", "two", x = i}
    r[8] = {"one", [2] = "two?", "two"}
    r[9] = {n = i, x, x * 2, [1.0] = "float key", [2^53] = "big"}
  end
  return r
end
for i, t in ipairs(odd(7, "same")) do
  print("odd", i, show(t))
end
print("odd lengths", #odd(7, "k")[1], #odd(7, "k")[7], #odd(7, "k")[8])

-- Many keys: the hash part grows in the middle of the constructor.
local function wide(v)
  local t
  for _ = 1, 2 do
    t = {k01 = v, k02 = v, k03 = v, k04 = v, k05 = v, k06 = v, k07 = v, k08 = v,
         k09 = v, k10 = v, k11 = v, k12 = v, k13 = v, k14 = v, k15 = v, k16 = v,
         k17 = v, k18 = v, k19 = v, k20 = v}
  end
  return t
end
local w = wide("v")
local count = 0
for _ in pairs(w) do count = count + 1 end
print("wide", count, w.k01, w.k20, w.k13)
w.k21 = "new"
print("wide grown", w.k21, w.k01)

-- More positional items than one batch, mixed with keys.
local function long(n)
  local t
  for _ = 1, 2 do
    t = {n, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
         21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39,
         40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58,
         59, 60, tag = "long", 61, 62}
  end
  return t
end
local l = long(0)
print("long", #l, l[1], l[51], l[52], l[64], l.tag)
l[#l + 1] = "appended"
print("long appended", #l, l[65])

-- Collections while the items are evaluated: the table, its parts and the
-- keys may move; what was stored stays.
local function churn(i)
  local s = {}
  for j = 1, 200 do s[j] = {j, tostring(j)} end
  return tostring(i) .. #s
end
local function gc_items(n)
  local all = {}
  for i = 1, n do
    all[i] = {id = i, a = churn(i), b = {i, churn(i)}, c = churn(i), i, churn(i), i * 2}
  end
  collectgarbage()
  local ok = 0
  for i = 1, n do
    local t = all[i]
    if t.id == i and t.a == i .. "200" and t.b[1] == i and t.c == t.a and t[1] == i
      and t[2] == t.a and t[3] == 2 * i then
      ok = ok + 1
    end
  end
  return ok
end
print("gc items", gc_items(300))

-- Objects as Are We Fast Yet builds them: a constructor, then a metatable.
local Point = {}
Point.__index = Point
function Point.new(x, y) return setmetatable({x = x, y = y}, Point) end
function Point:norm2() return self.x * self.x + self.y * self.y end
local function points(n)
  local s = 0
  for i = 1, n do s = s + Point.new(i, -i):norm2() end
  return s
end
print("points", points(1000))
