-- String building: the decimal numbers 0..N-1, each followed by a comma, are
-- appended one by one to a chunk string with .. (a new string each time);
-- every 100 numbers the chunk goes into a list, and the list is joined
-- pairwise (a balanced concatenation tree, not table.concat) into one large
-- string. Argument: N (default 3000000). Prints the length, a checksum of
-- the bytes and the last 16 bytes.
local byte, format = string.byte, string.format

local function buf_new() return { parts = {}, n = 0 } end

local function buf_add(b, s)
  b.n = b.n + 1
  b.parts[b.n] = s
end

-- Concatenates adjacent pairs until one string is left; consumes b.
local function buf_join(b)
  if b.n == 0 then return "" end
  local parts, n = b.parts, b.n
  while n > 1 do
    local m, i = 0, 1
    while i + 1 <= n do
      m = m + 1
      parts[m] = parts[i] .. parts[i + 1]
      i = i + 2
    end
    if i <= n then
      m = m + 1
      parts[m] = parts[i]
    end
    n = m
  end
  return parts[1]
end

local function checksum(s)
  local h = 0
  for i = 1, #s do h = (h * 31 + byte(s, i)) % 1000000007 end
  return h
end

local n = 3000000
if arg[1] then n = tonumber(arg[1]) end
local chunks = buf_new()
local chunk = ""
for i = 0, n - 1 do
  chunk = chunk .. (format("%d", i) .. ",")
  if (i + 1) % 100 == 0 then
    buf_add(chunks, chunk)
    chunk = ""
  end
end
if #chunk > 0 then buf_add(chunks, chunk) end
local s = buf_join(chunks)
io.write(format("length: %d\n", #s))
io.write(format("checksum: %d\n", checksum(s)))
io.write("tail: " .. s:sub(math.max(0, #s - 16) + 1, #s) .. "\n")
