-- Keys made at run time (concatenation, string.sub, string.rep, tostring,
-- string.format) meet constant field names in compiled code: short strings
-- with the same bytes are one object, whatever made them and whenever (also
-- across collections that move strings and drop unreachable ones), so a
-- field read by name finds what a computed key stored and the other way
-- round. Long strings (over 40 bytes) are compared by contents.
local function fill(t, round)
  t["na" .. "me"] = round
  t[("xcountx"):sub(2, 6)] = round + 1
  t[string.rep("ab", 3)] = round + 2
  t[tostring(12) .. "x"] = round + 3
  t[string.format("%s_%d", "key", 7)] = round + 4
  t[string.rep("long", 12)] = round + 5
  t[string.rep("w", 40)] = round + 6
  t[string.rep("w", 41)] = round + 7
end

local function check(t, round)
  local ok = t.name == round and t.count == round + 1 and t.ababab == round + 2
    and t["12x"] == round + 3 and t.key_7 == round + 4
    and t.longlonglonglonglonglonglonglonglonglonglonglong == round + 5
    and t.wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww == round + 6
    and t.wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww == round + 7
  return ok
end

local function churn(n)
  -- Garbage strings, some equal to the keys, most not: collections drop them
  -- from the interned set while the ones in tables stay.
  local s = 0
  for i = 1, n do
    local a = "na" .. "me" .. i
    local b = ("name"):sub(1, 4)
    if #a > #b then s = s + 1 end
  end
  return s
end

local bad, rounds = 0, 0
local keep = {}
for round = 1, 60 do
  local t = {}
  fill(t, round)
  keep[#keep + 1] = t
  churn(3000)
  for _, u in ipairs(keep) do
    if not check(u, u.name) then bad = bad + 1 end
  end
  -- Field names that were only ever made at run time, read back by constant.
  local k = {}
  k["fi" .. "eld" .. round % 3] = true
  if not (k.field0 or k.field1 or k.field2) then bad = bad + 1 end
  if #keep > 20 then table.remove(keep, 1) end
  rounds = rounds + 1
end
collectgarbage()
local t = {}
fill(t, 100)
print(rounds, bad, check(t, 100), churn(10))
-- Equal strings made apart are equal, as keys and as values.
local x, y = "abc" .. "def", string.char(97, 98, 99, 100, 101, 102)
print(x == y, rawequal(x, y), ({[x] = 1})[y])
local l1, l2 = string.rep("z", 50), string.rep("zz", 25)
print(l1 == l2, ({[l1] = 2})[l2])
