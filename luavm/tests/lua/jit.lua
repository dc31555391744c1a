-- Everything here runs inside functions (the JIT compiles Lua functions; the
-- main chunk, a vararg function, runs on the interpreter).

local function arith()
  local out = {}
  local function add(x) out[#out + 1] = tostring(x) end
  local a, b = 7, -3
  add(a + b) add(a - b) add(a * b) add(a / b) add(a // b) add(a % b)
  add(-a // 2) add(-a % 2) add(a // -2) add(a % -2) add(0 % 5)
  add(7.5 // 2) add(-7.5 % 2) add(7 // 0.0) add(-7 % math.huge)
  local big = 140737488355327 -- 2^47 - 1: the largest inline integer
  add(big + 1) add(big * 2) add(-big - 2) add(big * big)
  add(math.maxinteger + 1 == math.mininteger)
  add(math.mininteger // -1) add(math.mininteger % -1)
  local x, y = 2^53, 0.1
  add(x + 1) add(y + 0.2) add(1e308 * 10) add(-1e308 * 10)
  add(0/0 ~= 0/0) add(-(0/0) ~= 0/0)
  add(-big) add(-(-big - 1)) add(-2.5) add(-"3")
  add(3 & 5) add(3 | 5) add(3 ~ 5) add(-1 & 0xFF) add(1 << 62) add(-1 >> 60)
  add("10" + 5) add("0x10" * 2) add(10 .. 20)
  add(1 == 1.0) add(1 < 1.5) add(-0.0 == 0.0) add("a" < "b") add(2 <= 2)
  add(big + 1 > big) add(3 > 2.5) add(2.5 >= 3)
  local ok, e = pcall(function() return 1 // 0 end)
  add(ok) add(e)
  ok, e = pcall(function() return 1 % 0 end)
  add(e)
  ok, e = pcall(function() local t = {} return t + 1 end)
  add(e)
  ok, e = pcall(function() local s = "x" return s < 1 end)
  add(e)
  print(table.concat(out, " "))
end

local function loops()
  local s = 0
  for i = 1, 10 do s = s + i end
  for i = 10, 1, -3 do s = s + i end
  for i = 1, 0 do s = s + 1000 end
  for i = 1, 3.9 do s = s + i end
  for i = 3, 1.1, -1 do s = s + i end
  for x = 0.5, 2.0, 0.5 do s = s + x end
  for x = 1, 2, 0.25 do s = s + x end
  for i = math.maxinteger - 2, math.maxinteger do s = s + 1 end
  for i = math.mininteger, math.mininteger + 2 do s = s + 1 end
  for i = 1, math.huge do if i > 5 then break end s = s + i end
  local n = 0
  while n < 10 do n = n + 1 if n == 7 then break end end
  repeat local k = n n = n + 1 until k >= 12
  print("loops", s, n)
  print(pcall(function() for i = 1, 10, 0 do end end))
  print(pcall(function() for i = "a", 2 do end end))
  print(pcall(function() for i = 1, {} do end end))
  local fs = {}
  for i = 1, 3 do fs[i] = function() return i end end
  print(fs[1](), fs[2](), fs[3]())
  local t = {10, 20, 30, x = 1}
  local keys = 0
  for k, v in pairs(t) do keys = keys + 1 end
  for i, v in ipairs(t) do s = s + i * v end
  local function range(n)
    return function(_, i) if i < n then return i + 1 end end, nil, 0
  end
  for i in range(4) do s = s + i end
  print("iter", keys, s)
end

local function calls()
  local function multi() return 1, 2, 3 end
  local function none() end
  local function count(...) return select("#", ...) end
  local a, b, c, d = multi()
  print(a, b, c, d)
  print(multi(), multi())
  print((multi()))
  print(count(multi()), count(multi(), 1), count(none()), count(nil, none()))
  local t = {multi(), multi()}
  print(#t, t[4])
  local function ret_list(x) return x, multi() end
  print(ret_list(0))
  local function deep(n) if n == 0 then return "bottom" end return deep(n - 1) end
  print(deep(300000))
  local obj = {v = 1}
  function obj:get() return self.v end
  function obj.set(self, v) self.v = v return self end
  print(obj:set(42):get())
  local mt = {__index = function(_, k) return k .. "!" end,
              __call = function(self, x) return x * 2 end,
              __add = function(x, y) return "added" end,
              __eq = function() return true end,
              __lt = function() return true end,
              __len = function() return 99 end,
              __concat = function() return "cat" end,
              __unm = function() return "neg" end}
  local p = setmetatable({}, mt)
  local q = setmetatable({}, mt)
  print(p.foo, p(21), p + 1, 1 + p, p == q, p < q, #p, p .. "x", -p)
  print(pcall(function() local f = nil; f() end))
  print(pcall(function() local u = {} ; u.x.y = 1 end))
  print(pcall(function() undefined_global_fn() end))
  print(pcall(function() local s = "abc"; return s:nosuch() end))
  print(select(2, pcall(error, {code = 7})).code)
  -- error levels and stack overflow through calls between compiled functions
  local function lvl2() error("up", 2) end
  local function caller()
    lvl2()
  end
  print(pcall(caller))
  local function r(n) return 1 + r(n + 1) end
  print(pcall(r, 1))
  local function r2(n) local a, b = n, n return r2(n + 1) + a + b end
  print(pcall(r2, 1))
  local function arg_err() return ("x"):rep({}) end
  print(pcall(arg_err))
end

local counter_calls = 0
local function closures()
  local function counter()
    local n = 0
    return function() n = n + 1 counter_calls = counter_calls + 1 return n end,
           function() return n end
  end
  local inc, get = counter()
  inc() inc()
  print(get(), counter_calls)
  local function param_captured(x)
    local function bump() x = x + 1 end
    bump() bump()
    return x
  end
  print(param_captured(10))
  local acc = {}
  for _, w in ipairs({"a", "b", "c"}) do
    acc[#acc + 1] = function() return w end
  end
  print(acc[1](), acc[2](), acc[3]())
  GLOBAL_SET = "g"
  print(GLOBAL_SET, rawget(_ENV, "GLOBAL_SET"))
  local a, b = 1, 2
  a, b = b, a
  print(a, b)
  local function two() return "t1", "t2" end
  local p, q, r = 1, two()
  local u, v, w = two(), 9
  local x, y = 5
  local m1, m2 = 1, 2, print("extra evaluated")
  print(p, q, r, u, v, w, x, y, m1, m2)
  local cap1, cap2 = 10, 20
  local function bump() cap1, cap2, G_MULTI = cap2 + 1, cap1 + 1, "gm" end
  bump()
  print(cap1, cap2, G_MULTI)
  local same
  same, same = 1, 2
  print(same)
end

local function build(n)
  local list = nil
  for i = 1, n do list = {value = i, name = "n" .. i, next = list} end
  return list
end

local function gc_work()
  local total = 0
  for round = 1, 30 do
    local l = build(2000)
    local s = 0
    while l do
      s = s + l.value
      if l.name ~= "n" .. l.value then error("corrupt " .. l.name) end
      l = l.next
    end
    total = total + s
  end
  print("gc", total)
end

local function tables()
  local out = {}
  local function add(x) out[#out + 1] = tostring(x) end
  -- A key made at run time is the same key as the equal constant.
  local t = {}
  t["ab" .. "c"] = 1
  add(t.abc)
  t.abc = 2
  add(t["a" .. "bc"])
  -- Classes three deep; fields that are nil; dead keys.
  local A = {} A.__index = A
  function A:who() return "A" end
  function A:base() return "base" end
  local B = setmetatable({}, A) B.__index = B
  function B:who() return "B" end
  local C = setmetatable({}, B) C.__index = C
  local o = setmetatable({x = 1}, C)
  add(o:who()) add(o:base()) add(o.x) add(o.missing)
  o.x = nil
  add(o.x)
  o.x = 5
  add(o.x)
  -- __index and __newindex functions; a metatable without __index.
  local log = {}
  local p = setmetatable({}, {
    __index = function(_, k) return "idx:" .. k end,
    __newindex = function(tt, k, v) rawset(tt, k, v * 10) end})
  add(p.foo) p.n = 4 add(p.n) p.n = 5 add(p.n)
  local q = setmetatable({}, {})
  add(q.nothing)
  -- Array part: inside, outside, holes, float keys, negative and zero.
  local a = {1, 2, 3}
  a[2] = nil add(a[2]) a[2] = 20 add(a[2])
  a[4] = 4 add(a[4]) add(a[0]) add(a[-1]) add(a[1.0]) add(a[2.5])
  a[1.0] = 100 add(a[1])
  for i = 1, 100 do a[i] = i * i end
  local sum = 0
  for i = 1, #a do sum = sum + a[i] end
  add(sum)
  -- Appends and removals at the end of the array part; a metatable's
  -- __newindex sees new keys; a hash part holding the next keys.
  local ap = {}
  for i = 1, 20 do ap[i] = i end
  ap[20] = nil ap[19] = nil
  add(#ap)
  ap[#ap + 1] = "x"
  add(#ap) add(ap[19])
  local seen = {}
  local guarded = setmetatable({1, 2}, {__newindex = function(t, k, v) seen[#seen + 1] = k rawset(t, k, v) end})
  guarded[3] = 3 guarded[2] = 22
  add(#seen) add(seen[1]) add(guarded[2])
  local h = {}
  h[3] = "three" h[2] = "two"
  h[1] = "one"
  add(#h) add(h[3])
  -- Lengths inline and through __len; one-byte strings are one object.
  add(#"") add(#"hello") add(#{}) add(#{1, 2, 3})
  add(#setmetatable({1, 2}, {__len = function() return 42 end}))
  local only_hash = {} only_hash[1] = 1 only_hash[2] = 2
  add(#only_hash)
  add(("abc"):sub(2, 2) == "b") add(rawequal(("xyz"):sub(1, 1), "x"))
  -- Many keys (long probe sequences), then lookups of each.
  local big = {}
  for i = 1, 500 do big["k" .. i] = i end
  local s2 = 0
  for i = 1, 500 do s2 = s2 + big["k" .. i] end
  add(s2) add(big.k250) add(big.k501)
  -- Indexing a non-table.
  add(select(2, pcall(function() local n = 5 return n.x end)))
  add(("abc"):upper())
  add(select(2, pcall(function() local u = {} u.a.b = 1 end)))
  -- Table constructors: order of positional and keyed items, errors.
  local c1 = {1, 2, x = 3, [10] = 4, [1] = "over", "three"}
  add(c1[1]) add(c1[2]) add(c1[3]) add(c1.x) add(c1[10]) add(#c1)
  local c2 = {[1] = "k", "p"}
  add(c2[1])
  local c3 = {n = {m = {1, {2}}}}
  add(c3.n.m[2][1])
  add(select(2, pcall(function() local k return {[k] = 1} end)))
  add(select(2, pcall(function() return {[0/0] = 1} end)))
  local function two() return 7, 8 end
  local c4 = {two(), two()}
  add(#c4) add(c4[2]) add(c4[3])
  local c5 = {(two())}
  add(#c5)
  local c6 = {[51] = "k51", [2] = "k2", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, [1] = "k1", 51, 52}
  add(c6[1]) add(c6[2]) add(c6[51]) add(#c6)
  -- String equality: same object, equal contents, different hashes, long.
  local s1, s2 = "abc", ("ab" .. "c")
  local l1, l2 = string.rep("x", 100), string.rep("x", 99) .. "x"
  add(s1 == s2) add(s1 ~= s2) add(s1 == "abd") add(l1 == l2) add(l1 ~= l2)
  add(s1 == 1) add("1" == 1) add(s1 == l1) add(("x"):sub(1, 1) == "x")
  print(table.concat(out, " "))
end

-- Vararg functions (compiled on a frame above their varargs): `...` in
-- every position, select, tail calls that grow the varargs, errors through
-- them, and many values.
local function varargs()
  local function f(...) return ... end
  print("va", f(1, 2, 3))
  print("va", select('#', f()), select('#', f(nil, nil)))
  local function g(a, b, ...)
    local n = select('#', ...)
    local t = {...}
    local x, y = ...
    return a, b, n, #t, x, y
  end
  print("va", g(1))
  print("va", g(1, 2, 3, 4, 5))
  local function sum(...)
    local s = 0
    for i = 1, select('#', ...) do s = s + (select(i, ...)) end
    return s
  end
  local acc = 0
  for i = 1, 2000 do acc = acc + sum(i, i, 1) end
  print("va", acc)
  local function grow(n, ...)
    if n == 0 then return select('#', ...), ... end
    return grow(n - 1, n, ...)
  end
  print("va", grow(6))
  print("va", select('#', grow(150)))
  local function pack2(...) return {n = select('#', ...), ...} end
  local p = pack2(1, nil, 3)
  print("va", p.n, p[1], p[2], p[3])
  local function raise(...) error(...) end
  print("va", pcall(raise, "boom", 0))
  local function count(...) return select('#', ...) end
  local big = {}
  for i = 1, 200 do big[i] = i end
  print("va", count(table.unpack(big)), (f(1, 2)))
  local t = {f(1, 2), f(3, 4)}
  print("va", #t, t[1], t[2], t[3])
  local function adder(...)
    local base = ...
    return function(...) return base + select('#', ...) end
  end
  print("va", adder(10)(1, 2, 3))
  -- 300,000 varargs passed down 50 calls: past lua5.4's stack limit, an
  -- error (it once exhausted the interpreter's value stack); one call fits.
  local many = {}
  for i = 1, 300000 do many[i] = i end
  local function down(n, ...)
    if n == 0 then return select('#', ...) end
    local r = down(n - 1, ...)
    return r
  end
  print("va", pcall(down, 0, table.unpack(many)))
  print("va", pcall(down, 50, table.unpack(many)))
end

-- Field stores of nil and into fields whose value is nil (dead keys), with
-- and without __newindex on the metatable; == and ~= against nil and
-- booleans.
local function nil_fields()
  local Class = {kind = "class"}
  local obj = setmetatable({link = 1, name = "o"}, {__index = Class})
  local log = {}
  local watched = setmetatable({link = 1}, {__newindex = function(t, k, v)
    log[#log + 1] = k .. "=" .. tostring(v)
    rawset(t, k, v)
  end})
  for i = 1, 6 do
    obj.link = nil
    obj.kind = nil
    watched.link = nil
    print("nf", i, obj.link, obj.kind, rawget(obj, "kind"), watched.link)
    obj.link = i
    watched.link = i
    print("nf", obj.link, watched.link, #log)
  end
  print("nf", table.concat(log, ","))
  local plain = {a = 1, b = 2}
  for _ = 1, 3 do plain.a = nil plain.b = nil plain.a = 3 end
  local keys = {}
  for k, v in pairs(plain) do keys[#keys + 1] = k .. v end
  print("nf", #keys, keys[1], plain.b)
  local t, f = {}, function() end
  local cmp = {}
  for _ = 1, 3 do
    cmp[#cmp + 1] = tostring(t == nil) .. tostring(t ~= nil) .. tostring(nil == t)
      .. tostring(false == t) .. tostring(true ~= f) .. tostring(nil == false)
      .. tostring(1 == nil) .. tostring(nil ~= 1.5) .. tostring(t == t)
  end
  print("nf", table.concat(cmp, " "))
end

-- s:sub(i, i): one byte of a string (every byte value), indices outside it,
-- negative and float indices, i ~= j, a receiver that is not a string, and
-- string.sub replaced by a Lua function.
local function one_byte_sub()
  local s = ""
  for b = 0, 255 do s = s .. string.char(b) end
  local sum, n = 0, 0
  for i = -3, #s + 3 do
    local c = s:sub(i, i)
    n = n + #c
    if #c == 1 then sum = sum + c:byte() end
  end
  print("sub", n, sum, s:sub(2.0, 2.0) == "\1", s:sub(3, 4) == "\2\3", ("abc"):sub(0, 0))
  local obj = {sub = function(self, i, j) return "obj" .. i .. j end}
  print("sub", obj:sub(1, 1))
  local orig = string.sub
  string.sub = function(str, i, j) return "mine:" .. str .. i .. j end
  print("sub", ("xyz"):sub(2, 2))
  string.sub = orig
  print("sub", ("xyz"):sub(2, 2), pcall(function() return s:sub({}, 1) end))
end

-- goto: the continue idiom in every loop kind, a backward goto as a loop
-- (with a fresh local per round for the closures), leaving nested loops,
-- and a forward jump over a return.
local function gotos()
  local s = 0
  for i = 1, 20 do
    if i % 3 == 0 then goto continue end
    s = s + i
    ::continue::
  end
  local fs, i = {}, 1
  ::again::
  do
    local x = i * 10
    fs[#fs + 1] = function() return x end
  end
  i = i + 1
  if i <= 3 then goto again end
  local found
  for a = 1, 10 do
    for b = 1, 10 do
      if a * b == 42 then found = a .. "x" .. b goto done end
    end
  end
  ::done::
  local k, odd = 0, {}
  while k < 10 do
    k = k + 1
    if k % 2 == 0 then goto next end
    odd[#odd + 1] = k
    ::next::
  end
  local r, seen = 0, {}
  repeat
    r = r + 1
    if r == 2 then goto skip end
    seen[#seen + 1] = r
    ::skip::
  until r >= 4
  for key in pairs({x = 1}) do
    if key then goto out end
  end
  ::out::
  local function sign(x)
    if x > 0 then goto pos end
    do return "nonpos" end
    ::pos::
    return "pos"
  end
  print("goto", s, fs[1](), fs[2](), fs[3](), found, table.concat(odd, ","),
    table.concat(seen, ","), sign(1), sign(-1))
end

arith()
tables()
loops()
calls()
closures()
varargs()
nil_fields()
one_byte_sub()
gotos()
gc_work()

-- Globals read and written by compiled code, then through a metatable on _G
-- (last: it changes every later global access).
local function globals()
  G_COUNT = 1
  for i = 1, 10 do G_COUNT = G_COUNT + i end
  print("globals", G_COUNT, G_MISSING)
  setmetatable(_G, {__index = function(_, k) return "dflt:" .. k end,
                    __newindex = function(t, k, v) rawset(t, k, v .. "!") end})
  G_NEW = "x"
  G_COUNT = 7
  print(G_NEW, G_UNDEF, G_COUNT)
end
globals()
