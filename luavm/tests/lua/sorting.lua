-- table.sort as lua5.4 sorts: elements the order does not tell apart end in
-- its order (its quicksort, step for step); invalid order functions and bad
-- comparators are reported as lua5.4 reports them.
-- many arrays with ties, custom comparators, sorted and printed
local seed = 12345
local function rnd(n) seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n end
for trial = 1, 300 do
  local n = rnd(300) + 1
  local t = {}
  for i = 1, n do t[i] = {k = rnd(7), id = i} end
  local mode = trial % 3
  if mode == 0 then table.sort(t, function(a, b) return a.k < b.k end)
  elseif mode == 1 then table.sort(t, function(a, b) return a.k > b.k end)
  else
    local u = {}
    for i = 1, n do u[i] = rnd(50) end
    table.sort(u)
    t = u
  end
  local out = {}
  for i, v in ipairs(t) do out[i] = type(v) == "table" and v.id or v end
  print(table.concat(out, ","))
end
print(pcall(table.sort, (function() local t = {} for i = 1, 100 do t[i] = i % 5 end return t end)(), function(a, b) return a <= b end))
print(pcall(table.sort, {3, 1, 2}, {}))
local s = {} for i = 1, 5000 do s[i] = (i * 7919) % 1000 end
table.sort(s) local ok = true for i = 2, #s do if s[i-1] > s[i] then ok = false end end print(ok)
