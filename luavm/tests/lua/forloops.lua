-- numeric for loops: integer and float loops, every direction and step, at
-- the edges of the inline integer range (2^47) and of 64-bit integers

local function show(a, b, c)
  local out = {}
  local n = 0
  if c == nil then
    for i = a, b do
      n = n + 1
      if n <= 6 then out[#out + 1] = tostring(i) .. ":" .. math.type(i) end
    end
  else
    for i = a, b, c do
      n = n + 1
      if n <= 6 then out[#out + 1] = tostring(i) .. ":" .. math.type(i) end
    end
  end
  print(tostring(a), tostring(b), tostring(c), n, table.concat(out, " "))
end

show(1, 10)
show(10, 1, -1)
show(1, 10, 3)
show(10, 1, -3)
show(1, 0)
show(0, 1, -1)
show(5, 5)
show(5, 5, -1)
show(1, 3, 10)
show(3, 1, -10)
show(-7, 7, 7)
show(7, -7, -7)
show(-7, 7, 5)

-- the inline range's edges and beyond
local big = 1 << 47
show(big - 3, big - 1)
show(big - 3, big + 2)
show(big + 2, big - 3, -1)
show(-big + 2, -big - 2, -1)
show(-big, -big + 2)
show(-(1 << 46), 1 << 46, 1 << 45)
show(1 << 46, -(1 << 46), -(1 << 45))
show(-big, big - 1, big)
show(big - 1, -big, -big)
show(math.maxinteger - 2, math.maxinteger)
show(math.mininteger + 2, math.mininteger, -1)
show(math.mininteger, math.maxinteger, math.maxinteger)
show(math.maxinteger, math.mininteger, math.mininteger)
show(0, math.maxinteger, 1 << 62)

-- float limits and float loops
show(1, 3.5)
show(3, 0.5, -1)
show(1, 2.0)
show(1.0, 3)
show(1, 2, 0.5)
show(0.1, 0.5, 0.1)
show(1, -math.huge)
show(1, 0 / 0)
show(math.maxinteger - 3, math.maxinteger + 0.0)
show(-1, math.mininteger + 0.0, -(1 << 62))
show(math.mininteger + 1, -math.huge, -1)
show(3, 1.5, -1)

-- steps that are variables, limits evaluated once
local calls = 0
local function lim() calls = calls + 1 return 4 end
local function sum(a, b, c)
  local s = 0
  for i = a, b, c do s = s + i end
  return s
end
for _, step in ipairs({1, 2, -1, -2, 3, 1000}) do
  print(step, sum(1, 20, step), sum(20, 1, step), sum(-20, 20, step))
end
local n = 0
for i = 1, lim() do n = n + i end
print(n, calls)

-- the control variable is a copy; breaking out; nested loops
for i = 1, 3 do
  i = i * 10
  io.write(i, " ")
end
print()
local found
for i = 1, 100 do
  for j = i, 1, -1 do
    if i * j == 42 then found = i .. "*" .. j break end
  end
  if found then break end
end
print(found)
local function loop_in_loop(n)
  local c = 0
  for i = n, 1, -1 do
    for j = 1, i, 2 do c = c + j end
  end
  return c
end
print(loop_in_loop(0), loop_in_loop(1), loop_in_loop(10), loop_in_loop(101))

-- errors
print(pcall(function() for i = 1, 2, 0 do end end))
print(pcall(function() for i = 1.0, 2, 0 do end end))
print(pcall(function() local z = 0 for i = 5, 1, z do end end))
print(pcall(function() for i = 1, nil do end end))
print(pcall(function() for i = {}, 1 do end end))
print(pcall(function() for i = 1, 2, {} do end end))
