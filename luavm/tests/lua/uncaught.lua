-- An uncaught runtime error: the message on stderr, exit status 1, and the
-- output printed before it.
local Account = {}
Account.__index = Account
function Account.new(b) return setmetatable({balance = b}, Account) end
function Account:withdraw(n)
  if n > self.balance then error("insufficient funds") end
  self.balance = self.balance - n
end
local a = Account.new(100)
a:withdraw(30)
print(a.balance)
local t = {}
print(t.missing)
a:withdraw(500)
print("not reached")
