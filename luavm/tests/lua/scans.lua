-- Scanning one long string from successive positions with find, match,
-- byte and a gmatch iterator: each call reads the subject where it is (a
-- copy per call made such loops quadratic), and captures come out right.
local parts = {}
for i = 1, 20000 do parts[i] = "w" .. i .. "=" .. (i * 7 % 1000) end
local s = table.concat(parts, ";")
print(#s)

local n, pos, sum = 0, 1, 0
while true do
  local i, j, k, v = s:find("(%w+)=(%d+)", pos)
  if not i then break end
  n = n + 1
  sum = sum + tonumber(v) + #k
  pos = j + 1
end
print("find", n, sum)

n, pos = 0, 1
while true do
  local k = s:match("^;?(%w+)", pos)
  if not k then break end
  n = n + 1
  pos = s:find(";", pos + 1, true) or #s + 1
end
print("match", n)

local bytes = 0
for i = 1, #s, 3 do bytes = bytes + s:byte(i) end
print("byte", bytes, s:byte(-1), select("#", s:byte(1, 10)))

n, sum = 0, 0
for k, v in s:gmatch("(%w+)=(%d+)") do n = n + 1; sum = sum + #k + tonumber(v) end
print("gmatch", n, sum)
local it = s:gmatch("()w(%d+)", #s - 40)
print(it(), it())
print(("x"):rep(10):find("x", 11), ("x"):rep(10):find("", 11), ("abc"):byte(10))
