-- The Computer Language Benchmarks Game's spectral-norm: float arrays and
-- nested loops. Argument: n (default 1000). Arrays are 0-based here, like the
-- other versions, so the matrix formula reads the same.
local floor = math.floor

local function a(i, j)
  local ij = i + j
  return 1.0 / (floor(ij * (ij + 1) / 2) + i + 1)
end

local function mul_av(n, v, av)
  for i = 0, n - 1 do
    local sum = 0.0
    for j = 0, n - 1 do sum = sum + a(i, j) * v[j] end
    av[i] = sum
  end
end

local function mul_atv(n, v, atv)
  for i = 0, n - 1 do
    local sum = 0.0
    for j = 0, n - 1 do sum = sum + a(j, i) * v[j] end
    atv[i] = sum
  end
end

local function mul_atav(n, v, out, tmp)
  mul_av(n, v, tmp)
  mul_atv(n, tmp, out)
end

local n = 1000
if arg[1] then n = tonumber(arg[1]) end
local u, v, tmp = {}, {}, {}
for i = 0, n - 1 do u[i] = 1.0; v[i] = 0.0; tmp[i] = 0.0 end
for i = 1, 10 do
  mul_atav(n, u, v, tmp)
  mul_atav(n, v, u, tmp)
end
local vbv, vv = 0.0, 0.0
for i = 0, n - 1 do
  vbv = vbv + u[i] * v[i]
  vv = vv + v[i] * v[i]
end
io.write(string.format("%.9f\n", math.sqrt(vbv / vv)))
