-- Assigning nil to fields during a traversal (allowed by the manual): next goes
-- on even when the array part shrank below the key.
local t = {1, 2, 3}
for k in pairs(t) do t[k] = nil end
print("cleared", next(t))
local u = {1, 2, 3, 4, x = 1, y = 2}
local seen = {}
for k, v in pairs(u) do seen[#seen + 1] = tostring(k) u[k] = nil end
table.sort(seen)
print(table.concat(seen, " "), next(u))
local w = {1, 2, 3}
w[3] = nil w[4] = "four"
local n = 0
for k, v in pairs(w) do n = n + 1 w[k] = nil end
print(n, next(w))
print(pcall(next, {1, 2}, 7))
