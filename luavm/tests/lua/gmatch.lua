-- string.gmatch's iterator: one function, called by a for or directly.
local it = ("one two three"):gmatch("%a+")
print(type(it), select("#", ("x"):gmatch("x")))
print(it(), it(), it(), it(), it())
for k, v in string.gmatch("a=1, b=2, c=3", "(%w+)=(%w+)") do io.write(k, "->", v, " ") end print()
local words = {}
for w in ("the quick brown fox"):gmatch("%a+") do words[#words + 1] = w:upper() end
print(table.concat(words, ","))
local g = string.gmatch("abc", "")
print(g(), g(), g(), g(), g())
print(pcall(function() for w in ("x"):gmatch("%") do end end))
local f = ("1 2 3"):gmatch("%d")
local function sum(iter) local s = 0 for d in iter do s = s + tonumber(d) end return s end
print(sum(f), f())
collectgarbage()
local its = {}
for i = 1, 200 do its[i] = (("w" .. i .. " "):rep(3)):gmatch("%w+") end
collectgarbage()
local n = 0
for i = 1, 200 do for w in its[i] do n = n + #w end end
print(n)
print(pcall(string.gmatch("x", "x"), "extra", "args"))
for w in ("abc def"):gmatch("%a+", 3) do io.write(w, ";") end print()
for w in ("abc def"):gmatch("%a+", -2) do io.write(w, ";") end print()
for w in ("abc"):gmatch("%a*", 10) do io.write("[", w, "]") end print()
print(pcall(string.gmatch, "x", "x", "bad"))
