-- An uncaught error's traceback names each frame as lua5.4 does, from the
-- code that called it: a method, a field, a for iterator, a global function,
-- an upvalue, a local, a function reached by tail calls ("(...tail
-- calls...)"), a function called by pcall; caught errors print nothing.
Account = {}
Account.__index = Account
function Account.new(b) return setmetatable({balance = b}, Account) end
function Account:withdraw(n)
  if n > self.balance then error("insufficient funds") end
  self.balance = self.balance - n
end
local M = {}
function M.run(a) a:withdraw(100) end
local function iter(_, i)
  if i >= 2 then M.run(Account.new(5)) end
  return i + 1
end
function loop()
  for _ in iter, nil, 0 do end
end
local function bad(x) if x then loop() end return x.y end
local function mid(x) return bad(x) + 1 end
local t = {}
function t.method(_, x) return mid(x) end
function outer(x) return t:method(x) end
print(pcall(outer, nil))
print(pcall(outer, true))
local co = function() outer(true) end
co()
