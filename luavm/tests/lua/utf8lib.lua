-- The utf8 library (encoding, strict and lax decoding, positions, errors),
-- math.deg and math.rad, and the 5.3 compatibility functions Debian's lua5.4
-- has (cosh, sinh, tanh, log10, pow, frexp, ldexp, atan2).
local function show(...)
  local t = table.pack(...)
  for i = 1, t.n do t[i] = tostring(t[i]) end
  print(table.concat(t, " "))
end
local function try(f, ...)
  local r = table.pack(pcall(f, ...))
  for i = 1, r.n do r[i] = tostring(r[i]) end
  print(table.concat(r, " "))
end
show(utf8.char(72, 228, 8364, 128512, 0x7FFFFFFF, 0x10FFFF, 0))
show(#utf8.char(0x7FFFFFFF), #utf8.char(0x3FFFFFF), #utf8.char(0x1FFFFF))
show(utf8.char())
try(utf8.char, -1)
try(utf8.char, 0x80000000)
try(utf8.char, "x")
try(utf8.char, 1.5)
show(utf8.charpattern == "[\0-\x7F\xC2-\xFD][\x80-\xBF]*")
local s = "héllo, wörld € 😀"
show(utf8.len(s), #s)
show(utf8.len(s, 3), utf8.len(s, -4), utf8.len(s, 1, 2), utf8.len(""))
show(utf8.len("\xff"), utf8.len("ab\x80cd"), utf8.len("ab\xC3", 1, -1))
show(utf8.len("\xF4\x90\x80\x80"), utf8.len("\xF4\x90\x80\x80", 1, -1, true))
show(utf8.len("\xED\xA0\x80"), utf8.len("\xED\xA0\x80", 1, -1, true))
show(utf8.len("\xC0\x80"), utf8.len("\xE0\x80\x80", 1, -1, true))
try(utf8.len, s, 0)
try(utf8.len, s, #s + 2)
try(utf8.len, s, 1, #s + 1)
show(utf8.len(s, #s + 1))
show(utf8.codepoint(s, 1, -1))
show(utf8.codepoint(s), utf8.codepoint(s, 2), utf8.codepoint(s, -4))
show(utf8.codepoint(s, 4, 3))
try(utf8.codepoint, s, 3)
try(utf8.codepoint, s, 0)
try(utf8.codepoint, s, 1, #s + 1)
try(utf8.codepoint, "\xF4\x90\x80\x80")
show(utf8.codepoint("\xF4\x90\x80\x80", 1, 1, true))
show(utf8.codepoint("\xFD\xBF\xBF\xBF\xBF\xBF", 1, 1, true))
for p, c in utf8.codes(s) do io.write(p, ":", c, " ") end print()
for p, c in utf8.codes("a\xF4\x90\x80\x80b", true) do io.write(p, ":", c, " ") end print()
try(function() for p, c in utf8.codes("ab\xffcd") do io.write(p, " ") end end)
print()
for p, c in utf8.codes("") do print("never") end
for _, n in ipairs({-3, -1, 0, 1, 2, 3, 5, 13, 20}) do
  show(n, utf8.offset(s, n), utf8.offset(s, n, 4))
end
show(utf8.offset(s, 0, 3), utf8.offset(s, 0, #s + 1), utf8.offset("", 1), utf8.offset("", -1))
try(utf8.offset, s, 1, 3)
try(utf8.offset, s, 1, #s + 2)
try(utf8.offset, s, 1, 0)
for c in s:gmatch(utf8.charpattern) do io.write("[", c, "]") end print()
show(math.deg(math.pi), math.rad(180), math.deg(1), math.rad(1), math.deg(0))
show(math.cosh(1), math.sinh(1), math.tanh(0.5), math.log10(1000), math.pow(2, 10), math.pow(2, 0.5))
show(math.atan2(1, 1), math.atan2(-1, -1))
for _, x in ipairs({0, -0.0, 1, 8, 0.3, -7.5, 1e300, 5e-324, 2.2250738585072014e-308, 1/0, -1/0}) do
  show(x, math.frexp(x))
end
show(math.frexp(0/0) ~= math.frexp(0/0), select(2, math.frexp(0/0)))
for _, p in ipairs({{1, 0}, {0.5, 1}, {0.75, 1024}, {1, -1074}, {1, -1075}, {1.5, -1074}, {3, -1076}, {1, 1023}, {1, 1024}, {-1, 2000}, {1, -3000}, {0.9999, 1025}}) do
  show(p[1], p[2], math.ldexp(p[1], p[2]))
end
try(math.ldexp, 1, 1.5)
try(math.deg, "x")
show(math.ldexp(1, 4294967297))
