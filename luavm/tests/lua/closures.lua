local function counter()
  local n = 0
  return function() n = n + 1; return n end, function() return n end
end
local inc, get = counter()
inc(); inc()
print(get())
local fs = {}
for i = 1, 3 do fs[i] = function() return i end end
print(fs[1](), fs[2](), fs[3]())
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
print(fib(20))
local function va(...)
  local a, b = ...
  return select("#", ...), a, b, ...
end
print(va(1, 2, 3))
print((va(1, 2, 3)))
local function multi() return 1, 2, 3 end
local x, y, z, w = multi()
print(x, y, z, w)
print(({multi()})[3], #{multi(), multi()})
local t = {multi(), multi()}
print(#t)
local function deep(n) if n == 0 then return 0 end return 1 + deep(n - 1) end
print(deep(5000))
local function tail(n, acc) if n == 0 then return acc end return tail(n - 1, acc + 1) end
print(tail(3000, 0))
do
  local shared = 10
  local function a() shared = shared + 1 end
  local function b() return shared end
  a(); a()
  print(b())
end
local i = 1
while true do i = i * 2; if i > 100 then break end end
print(i)
repeat local j = i; i = i - 30 until j < 50
print(i)
for k = 10, 1, -3 do io.write(k, " ") end
print()
for k = 1.0, 2.0, 0.25 do io.write(k, " ") end
print()
goto skip
print("not printed")
::skip::
print("after goto")
