-- Recursive Fibonacci: calls and integer arithmetic. Argument: n (default 35).
local function fib(n)
  if n < 2 then return n end
  return fib(n - 1) + fib(n - 2)
end

local n = 35
if arg[1] then n = tonumber(arg[1]) end
io.write(string.format("%d\n", fib(n)))
