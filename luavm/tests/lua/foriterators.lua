-- Generic `for` iterators: errors they raise point at the loop, arguments
-- errors name the "for iterator", `next` raises without a position.
local function it(s, i)
  if i >= 2 then error("stop here", 2) end
  return i + 1
end
print(pcall(function()
  for i in it, nil, 0 do io.write(i, " ") end
end))
print(pcall(function()
  for i in it, nil, 0 do io.write(i, " ") end
end))
print(pcall(function() for k in next, {}, "nokey" do end end))
print(pcall(function() for w in string.gmatch, 1 do end end))
print(pcall(function() for a, b in utf8.codes, {} do end end))
local function bad(s, i) return s.x.y end
print(pcall(function()
  for a in bad, nil, 0 do end
end))
for a in function() error("uncaught in iterator") end do end
