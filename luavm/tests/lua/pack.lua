-- string.pack, string.unpack and string.packsize: every option, alignment,
-- endianness, limits and the messages of bad formats and arguments.
local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
local cases = {
  {"i4", 100}, {"<i4", -2}, {">i4", -2}, {"b", -128}, {"B", 255}, {"h", 30000}, {">H", 65535},
  {"j", math.mininteger}, {"J", -1}, {"i16", -3}, {"<I16", 7}, {">i3", -5}, {"i7", 2^40},
  {"f", 1.5}, {">d", -0.1}, {"n", 1/3}, {"c5", "ab"}, {"s1", "hello"}, {"s", "xy"}, {"z", "zero"},
  {"!4 b i4", 1, 2}, {"!8 b d", 1, 2.5}, {"b Xi4 b", 1, 2}, {"<!2 h i8", 1, 2}, {"x b x", 3},
  {"=I2 >I2 <I2", 1, 2, 3}, {" b  b ", 1, 2}, {"!b Xh", 1}, {"T", 12},
}
for _, c in ipairs(cases) do
  local ok, p = pcall(string.pack, table.unpack(c))
  if ok then
    local r = {pcall(string.unpack, c[1], p)}
    for i = 1, #r do r[i] = tostring(r[i]) end
    print(c[1], hex(p), table.concat(r, " "))
    local sok, sz = pcall(string.packsize, c[1])
    print("  size", sok, sz)
  else
    print(c[1], "error", p)
  end
end
for _, bad in ipairs({{"i17", 1}, {"i0", 1}, {"q", 1}, {"c", "a"}, {"b", 200}, {"B", -1}, {"h", 40000},
    {"c2", "abc"}, {"s1", string.rep("x", 300)}, {"z", "a\0b"}, {"X", 1}, {"Xc1", 1}, {"!3 i4", 1}, {"i4"}, {"i4", "x"}, {"d", {}}}) do
  print(bad[1], pcall(string.pack, table.unpack(bad)))
end
print(pcall(string.packsize, "s"), pcall(string.packsize, "z"), string.packsize("i4i8"), string.packsize("!i1i8"))
print(pcall(string.unpack, "i4", "abc"))
print(string.unpack("i4", string.pack("i4i4", 7, 8), 5))
print(string.unpack("i4", string.pack("i4i4", 7, 8), -4))
print(pcall(string.unpack, "i4", "abcd", 10))
print(pcall(string.unpack, "z", "abc"))
print(pcall(string.unpack, "s1", "\5ab"))
print(pcall(string.unpack, "i9", string.rep("\255", 8) .. "\1"))
print(string.unpack("i9", string.rep("\255", 9)))
print(string.unpack("b", "\200"), string.unpack("B", "\200"))
print(string.unpack("<h>h", "\1\2\1\2"))
print(("i4"):pack(5) == string.pack("i4", 5))
print(string.unpack("zzz", "a\0bc\0\0"))
print(string.unpack("f", string.pack("f", 0.1)))
print(pcall(string.pack, "i4", 2^53))
print(string.pack("i4", "12") == string.pack("i4", 12))
