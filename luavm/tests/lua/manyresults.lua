-- Built-ins whose results exceed the stack fail inside the protected call,
-- as lua5.4's luaL_checkstack does.
print(pcall(function() return select("#", table.unpack({}, 1, 500000)) end))
print(select("#", string.byte(string.rep("a", 300000), 1, -1)))
print(pcall(string.byte, string.rep("a", 2000000), 1, -1))
print("end")
