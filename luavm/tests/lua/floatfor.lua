-- Float numeric for loops prepared and stepped as lua5.4 does: a NaN start
-- or limit runs the body once, steps accumulate as floats.
for i = 0/0, 1 do print("ran", i ~= i) end
for i = 1, 0/0 do print("ran2", i) end
for i = 1.0, 0/0 do print("ran3", i) end
for i = 1, 2, 0/0 do print("ran4", i) end
for i = 0.5, 2.5 do io.write(i, " ") end print()
for i = 2.5, 0.5, -1 do io.write(i, " ") end print()
for i = 1, 3, 0.5 do io.write(i, " ") end print()
for i = 3.0, 1, -0.5 do io.write(i, " ") end print()
for i = 1, 0.5 do print("never") end
for i = math.huge, 1 do print("never2") end
print(pcall(function() for i = 1, 10, 0.0 do end end))
local function f() local n = 0 for i = 0/0, 1 do n = n + 1 end for x = 0.1, 1.0, 0.1 do n = n + 1 end return n end
print(f(), f())
