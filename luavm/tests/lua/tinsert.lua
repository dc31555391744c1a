-- table.insert: appends into a plain table's array part made without the
-- interpreter's call (compiled code), everything else by lua5.4's rules.
local t = {}
for i = 1, 100 do table.insert(t, i * 2) end
print(#t, t[1], t[50], t[100], t[101])
local h = {1, 2, nil, 4}
table.insert(h, "x") print(#h, h[5], h[4], h[3])
local m = setmetatable({}, {__newindex = function(t, k, v) rawset(t, k, v .. "!") end})
table.insert(m, "a") table.insert(m, "b") print(m[1], m[2])
local l = setmetatable({}, {__len = function() return 10 end})
table.insert(l, "z") print(rawget(l, 11))
local w = {}
table.insert(w, 1, "first") table.insert(w, "last") table.insert(w, 1, "zero") print(table.concat(w, ","))
print(pcall(table.insert, {}, nil))
local n = {} table.insert(n, nil) print(#n)
local big = {}
for i = 1, 10000 do table.insert(big, {i}) end
local s = 0 for i = 1, #big do s = s + big[i][1] end print(#big, s)
local C = {} C.__index = C
local obj = setmetatable({}, C)
table.insert(C, "proto") print(C[1], obj[1])
local arr = {}
for i = 1, 5 do table.insert(arr, i) end
arr[3] = nil
table.insert(arr, "after hole") print(#arr, arr[6], arr[5])
print(pcall(table.insert, {}, 1, 2, 3))
print(pcall(table.insert, 5, 1))
