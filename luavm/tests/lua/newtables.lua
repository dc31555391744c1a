-- Tables made by constructors of every shape (positional, string-keyed,
-- other keys, mixed; around the sizes compiled code allocates inline), many
-- times over so that collections run and move them, some kept and checked
-- against what they were made from.
local function shapes(i)
  return {
    {},
    {i},
    {i, i + 1, i + 2},
    {i, i, i, i, i, i, i, i, i, i, i, i},
    {i, i, i, i, i, i, i, i, i, i, i, i, i},
    {x = i},
    {x = i, y = i + 1},
    {a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, g = 7, h = 8, i = 9, j = 10, k = 11, l = i},
    {a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, g = 7, h = 8, i = 9, j = 10, k = 11, l = 12, m = i},
    {i, x = i, i + 1, y = "s" .. i},
    {[1] = i, [2] = i + 1, [4] = i + 3},
    {[true] = i, [false] = -i, [2.5] = i},
    {x = nil, y = i, nil, i},
    {n = 4},
  }
end

local function sum(t)
  local s, n = 0, 0
  for k, v in pairs(t) do
    n = n + 1
    if type(v) == "number" then s = s + v end
  end
  return s, n, #t
end

local expect = {}
for j, t in ipairs(shapes(7)) do
  local s, n, len = sum(t)
  expect[j] = s .. "/" .. n .. "/" .. len
end

local kept = {}
for i = 1, 60000 do
  local ts = shapes(i)
  if i % 100 == 0 then kept[#kept + 1] = {i, ts} end
  -- each one used at once, and a field added to a fresh one
  ts[7].z = i
  ts[2][2] = i
  if ts[7].x + ts[7].y + ts[7].z ~= 3 * i + 1 then print("bad sum at", i) end
end
collectgarbage()

local bad = 0
for _, pair in ipairs(kept) do
  local i, ts = pair[1], pair[2]
  for j, t in ipairs(ts) do
    local fresh = shapes(i)[j]
    if j == 7 then fresh.z = i end
    if j == 2 then fresh[2] = i end
    local a1, b1, c1 = sum(t)
    local a2, b2, c2 = sum(fresh)
    if a1 ~= a2 or b1 ~= b2 or c1 ~= c2 then bad = bad + 1 end
  end
end
print(#kept, "kept", bad, "differ")
for j = 1, #expect do print(j, expect[j]) end
-- traversal order of tables with non-string keys is lua5.4's
for _, t in ipairs({shapes(3)[11], shapes(3)[12], shapes(3)[3]}) do
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = tostring(k) end
  print(table.concat(ks, " "))
end
