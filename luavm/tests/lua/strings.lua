print(("hello world"):find("wor"), ("hello"):find("l"), ("hello"):find("xyz"), ("a.b"):find(".", 1, true))
print(("hello world"):match("(%w+) (%w+)"))
print(("key=value"):match("(%w+)=(%w+)"), ("  trim  "):match("^%s*(.-)%s*$"))
print(("hello"):gsub("l", "L"), ("abc"):gsub("%w", "%0%0"), ("hello world"):gsub("o", "0", 1))
print(("x = 1, y = 2"):gsub("(%w+) = (%w+)", "%2 = %1"))
print(("abc"):gsub("", "-"))
print(("hello"):gsub(".", {h = "H", e = false}))
print(("hello"):gsub("l+", function(s) return #s end))
for w in ("one two three"):gmatch("%a+") do io.write(w, ";") end
print()
for k, v in ("a=1, b=2"):gmatch("(%w+)=(%w+)") do io.write(k, v, ";") end
print()
print(("abc"):sub(2), ("abc"):sub(-2), ("abc"):sub(2, 2), ("abc"):sub(5), ("abc"):sub(0))
print(("abc"):byte(), ("abc"):byte(1, -1), string.char(72, 105))
print(("Hello"):lower(), ("Hello"):upper(), ("abc"):reverse(), ("ab"):rep(3, ","))
print(("%d items"):format(3), string.format("%5.1f|%-8s|%08.3f", 3.14159, "ab", -2.5))
print(string.format("%q", 1/3), string.format("%q", 10), string.format("%x", 3735928559))
print(("f(a,b)"):match("%((.-)%)"), ("[test]"):match("%[(.*)%]"), ("THE (quick) fox"):find("%((%a+)%)"))
print(("hello"):find("l", -2), ("aaa"):match("a-"), ("aaa"):match("a-$"))
print(("  x"):find("^%s*"), ("abc123"):match("%a+(%d+)"), ("2024-01-15"):match("(%d+)-(%d+)-(%d+)"))
print(tostring(1e100), 123456789012, 0.1, 1/3, -1.5e-10, 2^-1074)
print(#("\65\066\x43\u{48}\z
       x"), "tab\tnew", 'single "quotes"', [[long
string]], [==[with ]] inside]==])

-- string methods found through strings' metatable, also after a program
-- adds to the library or replaces `__index` (a table with its own chain, a
-- function, then the library again)
local function use(s) return s:sub(2, 3), s:upper(), s:rep(2, "-"), s:len() end
print(use("hello"))
function string.twice(s) return s .. s end
local function tw(s) return s:twice() end
print(tw("ab"), tw("c"))
local smt = getmetatable("")
local slib = smt.__index
smt.__index = setmetatable({shout = function(s) return s:upper() .. "!" end}, {__index = slib})
local function sh(s) return s:shout(), s:sub(1, 1), pcall(function() return s:nope() end) end
print(sh("hey"))
smt.__index = function(s, k) return function() return k .. "#" .. s end end
local function any(s) return s:whatever(), s:sub(1, 2) end
print(any("xy"))
smt.__index = slib
string.twice = nil
print(use("again"), pcall(tw, "x"))
