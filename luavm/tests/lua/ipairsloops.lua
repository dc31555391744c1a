-- `for ... in ipairs(t)`: compiled code steps through a plain table's array
-- part itself; everything else (holes, the hash part, metatables, weak
-- tables, other values) by the iterator's own rules.
local function run(t)
  local out = {}
  for i, v in ipairs(t) do out[#out + 1] = tostring(i) .. ":" .. tostring(v) end
  return table.concat(out, " ")
end
print(run({1, 2, 3, nil, 5}))
local r = {}
for i = 10, 1, -1 do r[i] = i * i end
print(run(r))
local h = {}
h[1] = "a"; h[3] = "c"; h[2] = "b"; h[4] = "d"; h[5] = "e"
print(run(h))
print(run(setmetatable({}, {__index = function(_, k) if k <= 4 then return k * 10 end end})))
print(run(setmetatable({1, 2}, {__index = {nil, nil, 3, 4}})))
local m = {1, 2, 3, 4, 5, 6}
for i, v in ipairs(m) do
  if i == 2 then m[4] = nil end
  io.write(i, "=", v, " ")
end
print()
local g = {1, 2, 3}
for _, v in ipairs(g) do
  if v == 3 then g[4] = "added" end
  io.write(tostring(v), " ")
end
print()
for i in ipairs({7, 8, 9}) do io.write(i, " ") end
print()
local n = 0
for _ in ipairs({}) do n = n + 1 end
print(n)
print(run(setmetatable({1, 2, 3}, {__mode = "v"})))
local fs = {}
for i, v in ipairs({"x", "y"}) do fs[#fs + 1] = function() return i .. v end end
print(fs[1](), fs[2]())
print(pcall(function() for _ in ipairs(nil) do end end))
print(pcall(function() for _ in ipairs(5) do end end))
local big = {}
for i = 1, 100 do big[i] = i end
local sum = 0
for i, v in ipairs(big) do
  sum = sum + v
  if i == 50 then big[51] = nil end
end
print(sum)
for i, v, extra in ipairs({5}) do print(i, v, extra) end
for i, v in ipairs({1.5, "s", true, false, {}}) do io.write(i, type(v), " ") end
print()
local co = coroutine.wrap(function()
  for i, v in ipairs({1, 2, 3}) do coroutine.yield(i + v) end
end)
print(co(), co(), co())
-- The loop's variable is a copy: assigning it does not move the loop.
for i, v in ipairs({10, 20, 30}) do
  io.write(i, ":", v, " ")
  i = i + 5
end
print()
-- Objects made in the loop (collections may run and move the table).
local rows = {}
for i = 1, 300 do rows[i] = {i, tostring(i)} end
local total = 0
for i, row in ipairs(rows) do
  local copy = {row[1], row[2] .. "!"}
  total = total + copy[1] + #copy[2]
end
print(total)
