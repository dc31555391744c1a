-- String order: compiled code compares two strings' bytes by a plain call;
-- everything else (numbers, metamethods, errors) by lua5.4's rules.
local words = {"b", "a", "abc", "ab", "", "a\0b", "a\0a", "zz", "Z", "aa", "abd", string.rep("x", 50), string.rep("x", 49) .. "y"}
for i = 1, #words do
  local row = {}
  for j = 1, #words do
    local a, b = words[i], words[j]
    row[#row + 1] = (a < b and "<" or "") .. (a <= b and "=" or "") .. (a > b and ">" or "") .. (a >= b and "g" or "")
  end
  print(table.concat(row, " "))
end
table.sort(words) for i, w in ipairs(words) do io.write(#w, ":", (w:gsub("%z", "0")), " ") end print()
print(pcall(function() return "a" < 1 end))
print(pcall(function() return {} < "a" end))
local mt = {__lt = function(x, y) return true end}
print(setmetatable({}, mt) < setmetatable({}, mt))
print(pcall(function() return "10" < "9", 10 < 9 end))
