-- pairs visits integer, float and boolean keys in lua5.4's order (its node
-- part's layout: main positions, collisions, lastfree, rehash sizes), after
-- random inserts, deletions and constructors; `#` agrees too. (String keys
-- are left out: lua5.4 scatters them by a per-run seed.)
for seed0 = 1, 6 do
  local seed = seed0
  local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648 return seed % n end
  for round = 1, 25 do
    local t = {}
    for i = 1, rnd(60) + 1 do
      local r = rnd(10)
      local k
      if r < 4 then k = rnd(20) + 1
      elseif r < 6 then k = rnd(200) - 50
      elseif r < 7 then k = rnd(10) + 0.5
      elseif r < 8 then k = (rnd(2) == 0)
      else k = rnd(1000) * 7 end
      if rnd(5) == 0 then t[k] = nil else t[k] = i end
      if rnd(17) == 0 then
        local c = {}
        for j = 1, rnd(8) do c[j] = (rnd(3) == 0) and nil or j end
        t = c
      end
    end
    local out = {}
    for k, v in pairs(t) do out[#out + 1] = tostring(k) .. ":" .. tostring(v) end
    print(seed0, round, #t, table.concat(out, " "))
  end
end
local squares = {}
for i = 1, 20 do squares[i * i] = i end
local o = {}
for k in pairs(squares) do o[#o + 1] = k end
print(table.concat(o, " "))
local f = {[1.5] = 1, [2.5] = 2, [true] = 3, [false] = 4, [3] = 5, [-0.25] = 6, [1e100] = 7}
o = {}
for k, v in pairs(f) do o[#o + 1] = tostring(k) .. "=" .. v end
print(table.concat(o, " "))
