-- The table library reads, writes and measures through __index, __newindex
-- and __len, as lua5.4's does (lua_geti, lua_seti, luaL_len).
local p = setmetatable({}, {__index = function(t, k) return k * 2 end, __len = function() return 3 end})
print(table.unpack(p))
print(table.concat(p, ","))
local log = {}
local q = setmetatable({}, {__newindex = function(t, k, v) log[#log + 1] = k; rawset(t, k, v) end})
table.insert(q, "a")
table.insert(q, "b")
table.insert(q, 1, "c")
print(#log, rawlen(q), q[1], q[2], q[3])
print(pcall(table.unpack, setmetatable({}, {__len = function() return 1e10 end})))
print(pcall(table.insert, setmetatable({}, {__len = function() return "x" end}), 1))
print(pcall(table.insert, setmetatable({}, {__len = function() return 2.5 end}), 1))
local r = setmetatable({}, {__len = function() return 2.0 end})
table.insert(r, "v") print(rawget(r, 3))
local pr = setmetatable({}, {__index = {10, 20, 30}, __len = function() return 3 end})
print(table.concat(pr, ",", 1, 3), table.remove(pr), rawlen(pr))
local srt = setmetatable({}, {__index = function(t, k) return rawget(t, "_" .. k) end,
  __newindex = function(t, k, v) rawset(t, "_" .. k, v) end, __len = function() return 5 end})
for i, v in ipairs({5, 3, 1, 4, 2}) do srt[i] = v end
table.sort(srt)
print(srt[1], srt[2], srt[3], srt[4], srt[5])
local dst = setmetatable({}, {__newindex = function(t, k, v) rawset(t, k, v * 10) end})
table.move({1, 2, 3}, 1, 3, 1, dst)
print(dst[1], dst[2], dst[3])
print(table.unpack(setmetatable({}, {__index = function(_, k) return k end}), 1, 4))
