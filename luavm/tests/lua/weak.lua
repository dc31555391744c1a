-- Weak tables (__mode 'k', 'v', 'kv'), compared with lua5.4: entries whose
-- object key or value is only weakly held are gone after collectgarbage(),
-- the others stay and are found; strings, numbers and booleans are never
-- removed; a table filled before it is made weak; functions.
local function count(t)
  local n = 0
  for k, v in pairs(t) do n = n + 1 end
  return n
end
local hold = {}
local function fill(t, keep, n)
  for i = 1, n do
    local o, p = {i}, {i}
    hold[#hold + 1] = o
    hold[#hold + 1] = p
    if i % 3 == 0 then keep[#keep + 1] = o keep[#keep + 1] = p end
    t[o] = i           -- object keys
    t["s" .. i] = p    -- object values
    t[#t + 1] = p      -- values in the array part
  end
end
-- weak values
local keep = {}
local wv = setmetatable({}, {__mode = "v"})
fill(wv, keep, 30)
print("v before", count(wv))
hold = {}
collectgarbage()
print("v after", count(wv))
-- weak keys
local wk = setmetatable({}, {__mode = "k"})
fill(wk, keep, 30)
print("k before", count(wk))
hold = {}
collectgarbage()
print("k after", count(wk))
-- both
local wkv = setmetatable({}, {__mode = "kv"})
fill(wkv, keep, 30)
print("kv before", count(wkv))
hold = {}
collectgarbage()
print("kv after", count(wkv))
-- strings, numbers and booleans are never removed
local ws = setmetatable({}, {__mode = "kv"})
ws[1] = "a" ws.x = "b" ws[true] = 1 ws[2.5] = "c" ws["k" .. 1] = "v" .. 1
collectgarbage()
print("values kept", count(ws), ws[1], ws.x, ws[true], ws[2.5], ws.k1)
-- the kept objects are still found through the weak tables
local found = 0
for i = 1, #keep, 2 do
  local o, p = keep[i], keep[i + 1]
  if wk[o] == o[1] then found = found + 1 end
  if wv["s" .. p[1]] == p then found = found + 1 end
end
print("found", found, #keep)
-- a table made weak after it was filled
local late = {}
for i = 1, 10 do late[i] = {} late[{}] = i end
late[11] = keep[1]
setmetatable(late, {__mode = "kv"})
collectgarbage()
print("late", count(late), late[11] == keep[1])
-- functions are collectable
local wf = setmetatable({}, {__mode = "v"})
for i = 1, 5 do wf[i] = function() return i end end
wf[6] = print
collectgarbage()
print("functions", count(wf), wf[6] == print)
-- the table still works after its entries were cleared
for i = 1, 100 do wv[i] = {i} wk[{}] = i end
local s = {}
wv.x = s wk[s] = "s"
collectgarbage()
print("reused", wv.x == s, wk[s], count(wv) >= 1, count(wk) >= 1)
