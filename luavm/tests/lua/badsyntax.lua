local x = 1
print(x)
if x then
  print("unclosed"
end
