local t = {}
for i = 1, 10 do t[i] = i * i end
print(#t, t[1], t[10], t[11])
t[#t + 1] = "x"
print(#t, t[11])
table.insert(t, 1, "first")
print(t[1], t[2], #t)
print(table.remove(t), table.remove(t, 1), #t)
print(table.concat({1, 2, 3}, ", "), table.concat({}, "x"), table.concat({"a", "b"}))
local h = {x = 1, y = 2, [3.0] = "three", [true] = "yes"}
print(h.x, h.y, h[3], h[true], h.z)
local keys = {}
for k, v in pairs({a = 1, b = 2, c = 3}) do keys[#keys + 1] = k .. "=" .. v end
table.sort(keys)
print(table.concat(keys, " "))
local n = 0
for i, v in ipairs({10, 20, 30, nil, 50}) do n = n + v end
print(n)
local s = {5, 2, 8, 1, 9, 3}
table.sort(s)
print(table.concat(s, " "))
table.sort(s, function(a, b) return a > b end)
print(table.concat(s, " "))
print(table.unpack({1, 2, 3}))
local p = table.pack(1, nil, 3)
print(p.n, p[1], p[2], p[3])
local big = {}
for i = 1, 1000 do big["k" .. i] = i end
local sum = 0
for k, v in pairs(big) do sum = sum + v end
print(sum)
for i = 1, 1000, 2 do big["k" .. i] = nil end
sum = 0
for k, v in pairs(big) do sum = sum + v end
print(sum)
print(next({}), rawlen({1, 2}), rawequal(t, t), rawget({5}, 1))
local m = table.move({1, 2, 3}, 1, 3, 2)
print(m[1], m[2], m[3], m[4])
