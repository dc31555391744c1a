-- The Computer Language Benchmarks Game's fannkuch-redux: small int arrays,
-- tight loops. Argument: n (default 10). Arrays are 0-based like the others.
local floor = math.floor
local checksum = 0

local function fannkuch(n)
  local perm, perm1, count = {}, {}, {}
  local max_flips, perm_count = 0, 0
  for i = 0, n - 1 do perm[i] = 0; perm1[i] = i; count[i] = 0 end
  local r = n
  while true do
    while r ~= 1 do
      count[r - 1] = r
      r = r - 1
    end
    for i = 0, n - 1 do perm[i] = perm1[i] end
    local flips = 0
    local k = perm[0]
    while k ~= 0 do
      local k2 = floor((k + 1) / 2)
      for i = 0, k2 - 1 do
        local t = perm[i]
        perm[i] = perm[k - i]
        perm[k - i] = t
      end
      flips = flips + 1
      k = perm[0]
    end
    if flips > max_flips then max_flips = flips end
    if perm_count % 2 == 0 then checksum = checksum + flips else checksum = checksum - flips end
    -- Next permutation, incrementally.
    while true do
      if r == n then return max_flips end
      local perm0 = perm1[0]
      local i = 0
      while i < r do
        local j = i + 1
        perm1[i] = perm1[j]
        i = j
      end
      perm1[r] = perm0
      count[r] = count[r] - 1
      if count[r] > 0 then break end
      r = r + 1
    end
    perm_count = perm_count + 1
  end
end

local n = 10
if arg[1] then n = tonumber(arg[1]) end
local m = fannkuch(n)
io.write(string.format("%d\nPfannkuchen(%d) = %d\n", checksum, n, m))
