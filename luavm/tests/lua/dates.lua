-- os.date and os.time at fixed times (tests/lua.rs also runs this under
-- several TZ zones): strftime conversions in the C locale, "*t" tables,
-- os.time normalizing its table, and the errors of both.
local function dump(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks)
  local out = {}
  for _, k in ipairs(ks) do out[#out + 1] = k .. "=" .. tostring(t[k]) end
  return table.concat(out, " ")
end
local times = {0, 1, -1, 86399, 951782400, 1609632000, 1700000000, 1711846800, 1730613600, -62000000000, 253402300799, 4102444800, -2208988800, 1234567890}
for _, t in ipairs(times) do
  print(t, os.date("!%Y-%m-%d %H:%M:%S", t), os.date("%Y-%m-%d %H:%M:%S %Z %z", t))
  print(os.date("!%a %A %b %B %c %C %d %D %e %F %g %G %h %H %I %j %m %M %n %p %r %R %S %t %T %u %U %V %w %W %x %X %y %Y %z %Z %%", t))
  print(os.date("%Ec|%EC|%Ex|%EX|%Ey|%EY|%Od|%Oe|%OH|%OI|%Om|%OM|%OS|%Ou|%OU|%OV|%Ow|%OW|%Oy", t))
  print(dump(os.date("!*t", t)))
  print(dump(os.date("*t", t)))
  local tt = os.date("*t", t)
  local ok, r = pcall(os.time, tt) print(ok and r == t or r)
end
for y = 1999, 2030 do
  for _, md in ipairs({{1, 1}, {12, 28}, {12, 31}, {1, 4}}) do
    io.write(os.date("!%G-%V-%u %U %W %j|", os.time({year = y, month = md[1], day = md[2], hour = 12}) + 0), " ")
  end
end
print()
local cases = {
  {year = 2021, month = 14, day = -3, hour = 25, min = -61, sec = 3600.0},
  {year = 2000, month = 1, day = 1},
  {year = 2000, month = 0, day = 0, hour = 0},
  {year = 2000, month = 3, day = 1, hour = -1},
  {year = "2020", month = "2", day = 29.0},
  {year = 2024, month = 3, day = 31, hour = 2, min = 30},
  {year = 2024, month = 3, day = 10, hour = 2, min = 30},
  {year = 2024, month = 11, day = 3, hour = 1, min = 30},
  {year = 2024, month = 11, day = 3, hour = 1, min = 30, isdst = true},
  {year = 2024, month = 11, day = 3, hour = 1, min = 30, isdst = false},
  {year = 2020, month = 1, day = 1, hour = 0, isdst = true},
  {year = 2020, month = 7, day = 1, hour = 0, isdst = false},
  {year = 1969, month = 12, day = 31, hour = 23, min = 59, sec = 59},
  {year = 1970, month = 1, day = 1, hour = 0},
  {},
  {year = 2020},
  {year = 2020, month = 1},
  {year = 2020, month = 1, day = 1, hour = "x"},
  {year = 2020, month = 1, day = 1, min = 1.5},
  {year = 2^40, month = 1, day = 1},
  {year = -2^31 + 1899, month = 1, day = 1},
}
for i, c in ipairs(cases) do
  local ok, r = pcall(os.time, c)
  print(i, ok, r, dump(c))
end
print(pcall(os.date, "%Ez abc"))
print(pcall(os.date, "%"))
print(pcall(os.date, "abc%"))
print(pcall(os.date, "%Q"))
print(pcall(os.date, "!%Y", 2^60))
print(pcall(os.date, "!%Y-%m-%d", -1e18))
print(pcall(os.date, "%d", 1.5))
print(pcall(os.date, "!%Y", "10"))
print(pcall(os.date, {}))
print(pcall(os.time, 5))
print(os.date(1), os.date("", 0), os.date("!", 0), os.date("!x%%y", 0))
print(type(os.time()), math.type(os.time()), type(os.date()), os.date("*t").isdst ~= nil)
