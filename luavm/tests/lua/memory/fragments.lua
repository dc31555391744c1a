-- Keeps one table in five, each with an array part larger than a heap line:
-- the small survivors end up in every block, and the arrays must still find
-- room in the free lines between them (on a fixed heap four times the live
-- data, no "not enough memory").
local keep = {}
local total = 0
for round = 1, 300 do
  for i = 1, 2000 do
    local t = {round, i, "x" .. i}
    for z = 4, 120 do t[z] = z end
    if i % 5 == 0 then keep[#keep + 1] = t end
  end
  if #keep > 8000 then
    for k = 1, #keep do total = total + keep[k][120] end
    keep = {}
  end
end
print(total)
