-- DeltaBlue: the incremental constraint solver of Freeman-Benson, Maloney and
-- Borning, ported from the Octane version (deltablue.js), including its
-- quirks (removeFirst takes the last element; BinaryConstraint.chooseMethod
-- has no early returns; Strength.nextWeaker's table). As in the Toy version,
-- the four constraint classes are one table shape with a kind field and
-- dispatch functions; OrderedCollection is a growable array with an explicit
-- size (elements at 1..size); a strength is its int value. Arguments:
-- iterations (default 3000), n (default 100). One iteration runs the chain
-- test and the projection test with n. Prints a checksum of the values the
-- tests compute.
local floor, ceil = math.floor, math.ceil

local REQUIRED, STRONG_PREFERRED, PREFERRED, STRONG_DEFAULT = 0, 1, 2, 3
local NORMAL, WEAK_DEFAULT, WEAKEST = 4, 5, 6
local NONE, FORWARD, BACKWARD = 0, 1, -1
local STAY, EDIT, EQUALITY, SCALE = 0, 1, 2, 3

local planner = nil

-- Integer division truncating toward zero, like C, Java and Toy.
local function idiv(a, b)
  local q = a / b
  if q >= 0 then return floor(q) end
  return ceil(q)
end

-- ---- OrderedCollection (of constraints or of variables)

local function list_new() return { elms = {}, size = 0 } end

local function list_add(l, x)
  l.size = l.size + 1
  l.elms[l.size] = x
end

-- As in Octane: removes and returns the last element.
local function list_remove_first(l)
  local x = l.elms[l.size]
  l.elms[l.size] = nil
  l.size = l.size - 1
  return x
end

local function list_remove(l, x)
  local elms = l.elms
  local index, skipped = 0, 0
  for i = 1, l.size do
    local value = elms[i]
    if value ~= x then
      index = index + 1
      elms[index] = value
    else
      skipped = skipped + 1
    end
  end
  for i = 1, skipped do
    elms[l.size] = nil
    l.size = l.size - 1
  end
end

-- ---- strengths

local function stronger(s1, s2) return s1 < s2 end
local function weaker(s1, s2) return s1 > s2 end

local function weakest_of(s1, s2)
  if weaker(s1, s2) then return s1 end
  return s2
end

-- Octane's table (WEAKEST, never asked, maps to itself).
local function next_weaker(s)
  if s == 0 then return WEAKEST end
  if s == 1 then return WEAK_DEFAULT end
  if s == 2 then return NORMAL end
  if s == 3 then return STRONG_DEFAULT end
  if s == 4 then return PREFERRED end
  if s == 5 then return REQUIRED end
  return WEAKEST
end

-- ---- variables

local function new_variable(name, value)
  return { value = value, constraints = list_new(), determined_by = nil, mark = 0,
           walk_strength = WEAKEST, stay = true, name = name }
end

local function variable_add_constraint(v, c) list_add(v.constraints, c) end

local function variable_remove_constraint(v, c)
  list_remove(v.constraints, c)
  if v.determined_by == c then v.determined_by = nil end
end

-- ---- constraints
-- kind STAY and EDIT use my_output and satisfied (UnaryConstraint); kind
-- EQUALITY and SCALE use v1, v2 and direction (BinaryConstraint); SCALE also
-- scale and offset.

local incremental_add, incremental_remove, add_propagate -- the planner, below

local function is_unary(c) return c.kind <= EDIT end
local function is_input(c) return c.kind == EDIT end

local function input(c)
  if c.direction == FORWARD then return c.v1 end
  return c.v2
end

local function output(c)
  if is_unary(c) then return c.my_output end
  if c.direction == FORWARD then return c.v2 end
  return c.v1
end

local function is_satisfied(c)
  if is_unary(c) then return c.satisfied end
  return c.direction ~= NONE
end

local function add_to_graph(c)
  if is_unary(c) then
    variable_add_constraint(c.my_output, c)
    c.satisfied = false
    return
  end
  variable_add_constraint(c.v1, c)
  variable_add_constraint(c.v2, c)
  c.direction = NONE
  if c.kind == SCALE then
    variable_add_constraint(c.scale, c)
    variable_add_constraint(c.offset, c)
  end
end

local function choose_method(c, mark)
  if is_unary(c) then
    c.satisfied = c.my_output.mark ~= mark and stronger(c.strength, c.my_output.walk_strength)
    return
  end
  if c.v1.mark == mark then
    if c.v2.mark ~= mark and stronger(c.strength, c.v2.walk_strength) then
      c.direction = FORWARD
    else
      c.direction = NONE
    end
  end
  if c.v2.mark == mark then
    if c.v1.mark ~= mark and stronger(c.strength, c.v1.walk_strength) then
      c.direction = BACKWARD
    else
      c.direction = NONE
    end
  end
  if weaker(c.v1.walk_strength, c.v2.walk_strength) then
    if stronger(c.strength, c.v1.walk_strength) then
      c.direction = BACKWARD
    else
      c.direction = NONE
    end
  else
    if stronger(c.strength, c.v2.walk_strength) then
      c.direction = FORWARD
    else
      c.direction = BACKWARD
    end
  end
end

local function mark_inputs(c, mark)
  if is_unary(c) then return end
  input(c).mark = mark
  if c.kind == SCALE then
    c.scale.mark = mark
    c.offset.mark = mark
  end
end

-- Stay and edit constraints do nothing.
local function execute(c)
  if c.kind == EQUALITY then
    output(c).value = input(c).value
  elseif c.kind == SCALE then
    if c.direction == FORWARD then
      c.v2.value = c.v1.value * c.scale.value + c.offset.value
    else
      c.v1.value = idiv(c.v2.value - c.offset.value, c.scale.value)
    end
  end
end

local function recalculate(c)
  if is_unary(c) then
    c.my_output.walk_strength = c.strength
    c.my_output.stay = not is_input(c)
    if c.my_output.stay then execute(c) end
    return
  end
  local ihn = input(c)
  local out = output(c)
  out.walk_strength = weakest_of(c.strength, ihn.walk_strength)
  if c.kind == SCALE then
    out.stay = ihn.stay and c.scale.stay and c.offset.stay
  else
    out.stay = ihn.stay
  end
  if out.stay then execute(c) end
end

local function mark_unsatisfied(c)
  if is_unary(c) then
    c.satisfied = false
  else
    c.direction = NONE
  end
end

local function inputs_known(c, mark)
  if is_unary(c) then return true end
  local i = input(c)
  return i.mark == mark or i.stay or i.determined_by == nil
end

local function remove_from_graph(c)
  if is_unary(c) then
    if c.my_output ~= nil then variable_remove_constraint(c.my_output, c) end
    c.satisfied = false
    return
  end
  if c.v1 ~= nil then variable_remove_constraint(c.v1, c) end
  if c.v2 ~= nil then variable_remove_constraint(c.v2, c) end
  c.direction = NONE
  if c.kind == SCALE then
    if c.scale ~= nil then variable_remove_constraint(c.scale, c) end
    if c.offset ~= nil then variable_remove_constraint(c.offset, c) end
  end
end

local function satisfy(c, mark)
  choose_method(c, mark)
  if not is_satisfied(c) then
    if c.strength == REQUIRED then error("Could not satisfy a required constraint!") end
    return nil
  end
  mark_inputs(c, mark)
  local out = output(c)
  local overridden = out.determined_by
  if overridden ~= nil then mark_unsatisfied(overridden) end
  out.determined_by = c
  if not add_propagate(planner, c, mark) then error("Cycle encountered") end
  out.mark = mark
  return overridden
end

local function destroy_constraint(c)
  if is_satisfied(c) then
    incremental_remove(planner, c)
  else
    remove_from_graph(c)
  end
end

local function add_constraint(c)
  add_to_graph(c)
  incremental_add(planner, c)
end

local function new_unary(kind, v, strength)
  local c = { kind = kind, strength = strength, my_output = v, satisfied = false,
              v1 = nil, v2 = nil, direction = NONE, scale = nil, offset = nil }
  add_constraint(c)
  return c
end

local function new_stay(v, strength) return new_unary(STAY, v, strength) end
local function new_edit(v, strength) return new_unary(EDIT, v, strength) end

local function new_binary(kind, var1, var2, strength, scale, offset)
  local c = { kind = kind, strength = strength, my_output = nil, satisfied = false,
              v1 = var1, v2 = var2, direction = NONE, scale = scale, offset = offset }
  add_constraint(c)
  return c
end

local function new_equality(var1, var2, strength)
  return new_binary(EQUALITY, var1, var2, strength, nil, nil)
end

local function new_scale(src, scale, offset, dest, strength)
  return new_binary(SCALE, src, dest, strength, scale, offset)
end

-- ---- planner

local function new_planner() return { current_mark = 0 } end

local function new_mark(p)
  p.current_mark = p.current_mark + 1
  return p.current_mark
end

incremental_add = function(p, c)
  local mark = new_mark(p)
  local overridden = satisfy(c, mark)
  while overridden ~= nil do
    overridden = satisfy(overridden, mark)
  end
end

local function remove_propagate_from(p, out)
  out.determined_by = nil
  out.walk_strength = WEAKEST
  out.stay = true
  local unsatisfied = list_new()
  local todo = list_new()
  list_add(todo, out)
  while todo.size > 0 do
    local v = list_remove_first(todo)
    local cs = v.constraints
    for i = 1, cs.size do
      local c = cs.elms[i]
      if not is_satisfied(c) then list_add(unsatisfied, c) end
    end
    local determining = v.determined_by
    for i = 1, cs.size do
      local next = cs.elms[i]
      if next ~= determining and is_satisfied(next) then
        recalculate(next)
        list_add(todo, output(next))
      end
    end
  end
  return unsatisfied
end

incremental_remove = function(p, c)
  local out = output(c)
  mark_unsatisfied(c)
  remove_from_graph(c)
  local unsatisfied = remove_propagate_from(p, out)
  local strength = REQUIRED
  while true do
    for i = 1, unsatisfied.size do
      local u = unsatisfied.elms[i]
      if u.strength == strength then incremental_add(p, u) end
    end
    strength = next_weaker(strength)
    if strength == WEAKEST then break end
  end
end

local function add_constraints_consuming_to(p, v, coll)
  local determining = v.determined_by
  local cc = v.constraints
  for i = 1, cc.size do
    local c = cc.elms[i]
    if c ~= determining and is_satisfied(c) then list_add(coll, c) end
  end
end

local function make_plan(p, sources)
  local mark = new_mark(p)
  local plan = { v = list_new() }
  local todo = sources
  while todo.size > 0 do
    local c = list_remove_first(todo)
    if output(c).mark ~= mark and inputs_known(c, mark) then
      list_add(plan.v, c)
      output(c).mark = mark
      add_constraints_consuming_to(p, output(c), todo)
    end
  end
  return plan
end

local function extract_plan_from_constraints(p, constraints)
  local sources = list_new()
  for i = 1, constraints.size do
    local c = constraints.elms[i]
    if is_input(c) and is_satisfied(c) then list_add(sources, c) end
  end
  return make_plan(p, sources)
end

add_propagate = function(p, c, mark)
  local todo = list_new()
  list_add(todo, c)
  while todo.size > 0 do
    local d = list_remove_first(todo)
    if output(d).mark == mark then
      incremental_remove(p, c)
      return false
    end
    recalculate(d)
    add_constraints_consuming_to(p, output(d), todo)
  end
  return true
end

local function plan_execute(plan)
  local cs = plan.v
  for i = 1, cs.size do execute(cs.elms[i]) end
end

-- ---- the tests

-- A chain of n+1 variables linked by equality constraints, edited at one end.
local function chain_test(n)
  planner = new_planner()
  local prev, first, last = nil, nil, nil
  for i = 0, n do
    local v = new_variable("v" .. i, 0)
    if prev ~= nil then new_equality(prev, v, REQUIRED) end
    if i == 0 then first = v end
    if i == n then last = v end
    prev = v
  end
  new_stay(last, STRONG_DEFAULT)
  local edit = new_edit(first, PREFERRED)
  local edits = list_new()
  list_add(edits, edit)
  local plan = extract_plan_from_constraints(planner, edits)
  local sum = 0
  for i = 0, 99 do
    first.value = i
    plan_execute(plan)
    if last.value ~= i then error("Chain test failed.") end
    sum = sum + last.value
  end
  return sum + plan.v.size
end

local function change(v, new_value)
  local edit = new_edit(v, PREFERRED)
  local edits = list_new()
  list_add(edits, edit)
  local plan = extract_plan_from_constraints(planner, edits)
  for i = 1, 10 do
    v.value = new_value
    plan_execute(plan)
  end
  destroy_constraint(edit)
end

-- n variable pairs linked by scale constraints sharing scale and offset.
local function projection_test(n)
  planner = new_planner()
  local scale = new_variable("scale", 10)
  local offset = new_variable("offset", 1000)
  local src, dst = nil, nil
  local dests = list_new()
  for i = 0, n - 1 do
    src = new_variable("src" .. i, i)
    dst = new_variable("dst" .. i, i)
    list_add(dests, dst)
    new_stay(src, NORMAL)
    new_scale(src, scale, offset, dst, REQUIRED)
  end
  change(src, 17)
  if dst.value ~= 1170 then error("Projection 1 failed") end
  change(dst, 1050)
  if src.value ~= 5 then error("Projection 2 failed") end
  change(scale, 5)
  for i = 0, n - 2 do
    if dests.elms[i + 1].value ~= i * 5 + 1000 then error("Projection 3 failed") end
  end
  change(offset, 2000)
  for i = 0, n - 2 do
    if dests.elms[i + 1].value ~= i * 5 + 2000 then error("Projection 4 failed") end
  end
  local sum = src.value + dst.value + scale.value + offset.value
  for i = 1, dests.size do sum = sum + dests.elms[i].value end
  return sum
end

local iterations, n = 3000, 100
if arg[1] then iterations = tonumber(arg[1]) end
if arg[2] then n = tonumber(arg[2]) end
local checksum = 0
for i = 1, iterations do
  checksum = checksum + chain_test(n)
  checksum = checksum + projection_test(n)
end
io.write(string.format("checksum: %d\n", checksum))
