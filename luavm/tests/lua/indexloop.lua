-- An __index loop is "chain too long" in compiled code too (it was nil
-- once an inline cache had recorded the lookup).
local loop = setmetatable({}, {})
getmetatable(loop).__index = loop
local function get() return loop.x end
for i = 1, 3 do print(pcall(get)) end
local a, b = {}, {}
setmetatable(a, {__index = b}) setmetatable(b, {__index = a})
for i = 1, 3 do print(pcall(function() return a.y end)) end
local a, b = {}, {}
setmetatable(a, {__index = b}) setmetatable(b, {__index = a})
local function get() return a.y end
local errs = 0
for i = 1, 2000 do if not pcall(get) then errs = errs + 1 end end
print(errs)
