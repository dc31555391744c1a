-- JSON: generates a JSON document (nested arrays and objects of integers and
-- strings with escapes) from a fixed pseudo-random sequence, then N times
-- parses the text with a recursive-descent parser into a tree and serializes
-- the tree back to text. Objects are arrays of key/value tables (no lookup
-- by key). Text is built as a list of pieces joined pairwise (a balanced
-- concatenation tree), as in the Toy version, not with table.concat.
-- Positions are 0-based like the other versions (s:byte(pos + 1)).
-- Argument: N (default 100). Prints the text length, the total length
-- produced, tree statistics and a checksum of the final text, which must
-- equal the generated one.
local byte, sub, char, format = string.byte, string.sub, string.char, string.format

local J_NUM, J_STR, J_ARR, J_OBJ = 0, 1, 2, 3

local seed = 42

-- Park-Miller minimal standard generator (products stay below 2^53, so
-- LuaJIT's doubles compute it exactly).
local function rnd()
  seed = seed * 16807 % 2147483647
  return seed
end

local function int_str(v) return format("%d", v) end

-- ---- string builder (parts at 1..n)

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

-- ---- generator

local function gen_string(b)
  local n = 1 + rnd() % 12
  buf_add(b, "\"")
  for i = 1, n do
    local r = rnd() % 32
    if r < 26 then
      buf_add(b, char(97 + r))
    elseif r == 26 then
      buf_add(b, "\\\"")
    elseif r == 27 then
      buf_add(b, "\\\\")
    elseif r == 28 then
      buf_add(b, "\\n")
    else
      buf_add(b, " ")
    end
  end
  buf_add(b, "\"")
end

local function gen_value(b, depth)
  local r = rnd() % 10
  if depth == 0 or r < 2 then
    if rnd() % 2 == 0 then
      buf_add(b, int_str(rnd() % 2000001 - 1000000))
    else
      gen_string(b)
    end
    return
  end
  local count = 1 + rnd() % 7
  if r < 6 then
    buf_add(b, "[")
    for i = 0, count - 1 do
      if i > 0 then buf_add(b, ",") end
      gen_value(b, depth - 1)
    end
    buf_add(b, "]")
  else
    buf_add(b, "{")
    for i = 0, count - 1 do
      if i > 0 then buf_add(b, ",") end
      buf_add(b, "\"k" .. int_str(rnd() % 50) .. "\":")
      gen_value(b, depth - 1)
    end
    buf_add(b, "}")
  end
end

local function generate()
  local b = buf_new()
  buf_add(b, "[")
  for i = 0, 19 do
    if i > 0 then buf_add(b, ",") end
    gen_value(b, 5)
  end
  buf_add(b, "]")
  return buf_join(b)
end

-- ---- parser (p = { s = text, pos = 0-based position })

local function skip_ws(p)
  local s = p.s
  while p.pos < #s do
    local c = byte(s, p.pos + 1)
    if c ~= 32 and c ~= 10 and c ~= 13 and c ~= 9 then return end
    p.pos = p.pos + 1
  end
end

local function expect(p, c)
  if byte(p.s, p.pos + 1) ~= c then error("json: expected " .. char(c) .. " at " .. p.pos) end
  p.pos = p.pos + 1
end

local parse_value -- below

local function parse_number(p)
  local s = p.s
  local neg = false
  if byte(s, p.pos + 1) == 45 then
    neg = true
    p.pos = p.pos + 1
  end
  local start = p.pos
  local v = 0
  while p.pos < #s do
    local c = byte(s, p.pos + 1)
    if c < 48 or c > 57 then break end
    v = v * 10 + (c - 48)
    p.pos = p.pos + 1
  end
  if p.pos == start then error("json: bad value at " .. p.pos) end
  if neg then v = -v end
  return { kind = J_NUM, num = v, text = nil, items = nil, members = nil, count = 0 }
end

-- At an opening quote; returns the unescaped contents.
local function parse_string(p)
  local s = p.s
  p.pos = p.pos + 1
  local start = p.pos
  local b = nil
  while true do
    local c = byte(s, p.pos + 1)
    if c == 34 then break end
    if c == 92 then
      if b == nil then b = buf_new() end
      buf_add(b, sub(s, start + 1, p.pos))
      local e = byte(s, p.pos + 2)
      if e == 110 then
        buf_add(b, "\n")
      elseif e == 116 then
        buf_add(b, "\t")
      else
        buf_add(b, char(e))
      end
      p.pos = p.pos + 2
      start = p.pos
    else
      p.pos = p.pos + 1
    end
  end
  local last = sub(s, start + 1, p.pos)
  p.pos = p.pos + 1
  if b == nil then return last end
  buf_add(b, last)
  return buf_join(b)
end

-- items / members at 1..count
local function parse_array(p)
  p.pos = p.pos + 1
  local items = {}
  local count = 0
  skip_ws(p)
  if byte(p.s, p.pos + 1) == 93 then
    p.pos = p.pos + 1
  else
    while true do
      local v = parse_value(p)
      count = count + 1
      items[count] = v
      skip_ws(p)
      local c = byte(p.s, p.pos + 1)
      p.pos = p.pos + 1
      if c == 93 then break end
      if c ~= 44 then error("json: expected , or ] at " .. (p.pos - 1)) end
    end
  end
  return { kind = J_ARR, num = 0, text = nil, items = items, members = nil, count = count }
end

local function parse_object(p)
  p.pos = p.pos + 1
  local members = {}
  local count = 0
  skip_ws(p)
  if byte(p.s, p.pos + 1) == 125 then
    p.pos = p.pos + 1
  else
    while true do
      skip_ws(p)
      if byte(p.s, p.pos + 1) ~= 34 then error("json: expected a key at " .. p.pos) end
      local key = parse_string(p)
      skip_ws(p)
      expect(p, 58)
      local v = parse_value(p)
      count = count + 1
      members[count] = { key = key, value = v }
      skip_ws(p)
      local c = byte(p.s, p.pos + 1)
      p.pos = p.pos + 1
      if c == 125 then break end
      if c ~= 44 then error("json: expected , or } at " .. (p.pos - 1)) end
    end
  end
  return { kind = J_OBJ, num = 0, text = nil, items = nil, members = members, count = count }
end

parse_value = function(p)
  skip_ws(p)
  local c = byte(p.s, p.pos + 1)
  if c == 123 then return parse_object(p) end
  if c == 91 then return parse_array(p) end
  if c == 34 then
    return { kind = J_STR, num = 0, text = parse_string(p), items = nil, members = nil, count = 0 }
  end
  return parse_number(p)
end

local function parse(s)
  local p = { s = s, pos = 0 }
  local v = parse_value(p)
  skip_ws(p)
  if p.pos ~= #s then error("json: trailing text at " .. p.pos) end
  return v
end

-- ---- serializer

local function write_string(b, s)
  buf_add(b, "\"")
  local start, n = 0, #s
  for i = 0, n - 1 do
    local c = byte(s, i + 1)
    if c == 34 or c == 92 or c == 10 or c == 9 then
      if i > start then buf_add(b, sub(s, start + 1, i)) end
      if c == 34 then
        buf_add(b, "\\\"")
      elseif c == 92 then
        buf_add(b, "\\\\")
      elseif c == 10 then
        buf_add(b, "\\n")
      else
        buf_add(b, "\\t")
      end
      start = i + 1
    end
  end
  if start == 0 then
    buf_add(b, s)
  elseif start < n then
    buf_add(b, sub(s, start + 1, n))
  end
  buf_add(b, "\"")
end

local function write_value(b, v)
  local k = v.kind
  if k == J_NUM then
    buf_add(b, int_str(v.num))
  elseif k == J_STR then
    write_string(b, v.text)
  elseif k == J_ARR then
    buf_add(b, "[")
    local items = v.items
    for i = 1, v.count do
      if i > 1 then buf_add(b, ",") end
      write_value(b, items[i])
    end
    buf_add(b, "]")
  else
    buf_add(b, "{")
    local members = v.members
    for i = 1, v.count do
      if i > 1 then buf_add(b, ",") end
      local m = members[i]
      write_string(b, m.key)
      buf_add(b, ":")
      write_value(b, m.value)
    end
    buf_add(b, "}")
  end
end

local function serialize(v)
  local b = buf_new()
  write_value(b, v)
  return buf_join(b)
end

-- ---- statistics

local function count_values(v)
  local n = 1
  if v.kind == J_ARR then
    for i = 1, v.count do n = n + count_values(v.items[i]) end
  elseif v.kind == J_OBJ then
    for i = 1, v.count do n = n + count_values(v.members[i].value) end
  end
  return n
end

local function sum_numbers(v)
  if v.kind == J_NUM then return v.num end
  local s = 0
  if v.kind == J_ARR then
    for i = 1, v.count do s = s + sum_numbers(v.items[i]) end
  elseif v.kind == J_OBJ then
    for i = 1, v.count do s = s + sum_numbers(v.members[i].value) end
  end
  return s
end

local function checksum(s)
  local h = 0
  for i = 1, #s do h = (h * 31 + byte(s, i)) % 1000000007 end
  return h
end

local reps = 100
if arg[1] then reps = tonumber(arg[1]) end
local text = generate()
local out = text
local total = 0
local tree = nil
for r = 1, reps do
  tree = parse(out)
  out = serialize(tree)
  total = total + #out
end
if out ~= text then
  io.write("json: the round trip changed the text\n")
  os.exit(1)
end
if tree == nil then tree = parse(text) end
io.write(format("length: %d\n", #out))
io.write(format("total: %d\n", total))
io.write(format("values: %d\n", count_values(tree)))
io.write(format("sum: %d\n", sum_numbers(tree)))
io.write(format("checksum: %d\n", checksum(out)))
