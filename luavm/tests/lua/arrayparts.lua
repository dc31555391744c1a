-- Where integer keys live, as lua5.4 decides it: constructors and
-- table.pack keep nil items as holes of the array part, keys dense enough
-- move into it when it is resized; `#` and `pairs` show it.
local function show(name, t)
  local ks = {}
  for k, v in pairs(t) do ks[#ks + 1] = tostring(k) .. "=" .. tostring(v) end
  print(name, #t, table.concat(ks, " "))
end
show("holes", {1, 2, nil, 4})
show("lead", {nil, 2, 3})
show("mid", {1, nil, 3, nil, 5})
show("keyed", {[2] = "k", 1, nil})
show("keyed2", {[3] = "k", 1, 2})
local function three() return 1, nil, 3 end
show("multi", {three()})
show("multi2", {0, three()})
local t = {} t[1] = 1 t[2] = 2 t[4] = 4 show("t4", t)
t = {} for i = 10, 1, -1 do t[i] = i end show("rev", t)
t = {} for i = 1, 16 do t[i] = i end t[8] = nil show("hole8", t)
t = {} t[3] = 3 t[2] = 2 t[1] = 1 show("321", t)
t = {} t[5] = 5 t[1] = 1 t[3] = 3 t[2] = 2 t[4] = 4 show("51324", t)
t = {n = 0} for i = 1, 8 do t[i] = i end show("mixed", t)
t = {} for i = 1, 20 do t[i] = i end for i = 11, 20 do t[i] = nil end t[25] = 25 show("tail", t)
t = {} for i = 1, 40 do t[i] = i end for i = 1, 40 do t[i] = nil end t[3] = 3 show("cleared", t)
show("pack", table.pack(1, nil, 3))
show("pack0", table.pack())
show("unpack", {table.unpack({1, nil, 3}, 1, 3)})
t = {} t[2] = 2 t[3] = 3 t[4] = 4 show("234", t)
t = {} t[2] = 2 t[3] = 3 t[4] = 4 t[1] = 1 show("2341", t)
t = {} for i = 1, 1000 do t[1001 - i] = i end
local sum, n = 0, 0
for k, v in pairs(t) do n = n + 1 sum = sum + k * v end
print("big reverse", #t, n, sum)
t = {} for i = 1, 100 do t[i * 2] = i end
local evens = 0
for k in pairs(t) do evens = evens + k end
print("evens", evens)
t = {x = 1, y = 2}
for i = 1, 5 do t[i] = i * i end
print("object+array", #t, t[5], t.x)
