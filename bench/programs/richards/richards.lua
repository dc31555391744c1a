-- Richards: the classic OS task-scheduler simulation (after Martin Richards'
-- BCPL original and the Wolczko/Octane versions). Task polymorphism is a kind
-- field and a dispatch function (as in the Toy version); the task state is
-- three booleans as in Wolczko's version. Argument: number of runs (default 5000).
-- Every run must end with queue count 2322 and hold count 928.
-- Lua 5.4 and LuaJIT: no bitwise operators in the source; the idle task's xor
-- uses LuaJIT's bit.bxor or, on Lua 5.4, the ~ operator compiled at run time.
local floor = math.floor
local bxor
if bit then
  bxor = bit.bxor
else
  bxor = load("return function(a, b) return a ~ b end")()
end

local ID_IDLE, ID_WORKER, ID_HANDLER_A, ID_HANDLER_B, ID_DEVICE_A, ID_DEVICE_B = 0, 1, 2, 3, 4, 5
local NUMBER_OF_IDS = 6
local KIND_DEVICE, KIND_WORK = 0, 1
local TASK_IDLE, TASK_WORKER, TASK_HANDLER, TASK_DEVICE = 0, 1, 2, 3
local DATA_SIZE = 4
local COUNT = 1000
local EXPECTED_QUEUE_COUNT = 2322
local EXPECTED_HOLD_COUNT = 928

-- ---- packets

local function new_packet(link, id, kind)
  local a2 = {}
  for i = 0, DATA_SIZE - 1 do a2[i] = 0 end
  return { link = link, id = id, kind = kind, a1 = 0, a2 = a2 }
end

-- Appends p to the end of queue; returns the new queue.
local function add_to(p, queue)
  p.link = nil
  if queue == nil then return p end
  local next = queue
  local peek = next.link
  while peek ~= nil do
    next = peek
    peek = next.link
  end
  next.link = p
  return queue
end

-- ---- task control blocks

local function new_tcb(link, id, priority, queue, task)
  -- No queue: suspended; else suspended and runnable.
  return { link = link, id = id, priority = priority, queue = queue, task = task,
           packet_pending = queue ~= nil, task_waiting = true, task_holding = false }
end

local function set_running(t)
  t.packet_pending = false
  t.task_waiting = false
  t.task_holding = false
end

local function mark_as_not_held(t) t.task_holding = false end
local function mark_as_held(t) t.task_holding = true end
local function mark_as_suspended(t) t.task_waiting = true end
local function mark_as_runnable(t) t.packet_pending = true end

local function is_held_or_suspended(t)
  return t.task_holding or (not t.packet_pending and t.task_waiting)
end

local run_task -- defined below

local function run_tcb(s, t)
  local packet = nil
  if t.packet_pending and t.task_waiting and not t.task_holding then
    packet = t.queue
    t.queue = packet.link
    if t.queue == nil then
      set_running(t)
    else
      t.packet_pending = true
      t.task_waiting = false
      t.task_holding = false
    end
  end
  return run_task(s, t.task, packet)
end

local function check_priority_add(t, task, packet)
  if t.queue == nil then
    t.queue = packet
    mark_as_runnable(t)
    if t.priority > task.priority then return t end
  else
    t.queue = add_to(packet, t.queue)
  end
  return task
end

-- ---- scheduler

local function new_scheduler()
  local blocks = {}
  for i = 0, NUMBER_OF_IDS - 1 do blocks[i] = false end
  return { queue_count = 0, hold_count = 0, blocks = blocks, list = nil,
           current_tcb = nil, current_id = 0 }
end

local function add_task(s, id, priority, queue, task)
  s.current_tcb = new_tcb(s.list, id, priority, queue, task)
  s.list = s.current_tcb
  s.blocks[id] = s.current_tcb
end

local function add_idle_task(s, id, priority, queue, count)
  add_task(s, id, priority, queue, { kind = TASK_IDLE, v1 = 1, v2 = count, p1 = nil, p2 = nil })
  set_running(s.current_tcb)
end

local function add_worker_task(s, id, priority, queue)
  add_task(s, id, priority, queue, { kind = TASK_WORKER, v1 = ID_HANDLER_A, v2 = 0, p1 = nil, p2 = nil })
end

local function add_handler_task(s, id, priority, queue)
  add_task(s, id, priority, queue, { kind = TASK_HANDLER, v1 = 0, v2 = 0, p1 = nil, p2 = nil })
end

local function add_device_task(s, id, priority, queue)
  add_task(s, id, priority, queue, { kind = TASK_DEVICE, v1 = 0, v2 = 0, p1 = nil, p2 = nil })
end

local function schedule(s)
  s.current_tcb = s.list
  while s.current_tcb ~= nil do
    if is_held_or_suspended(s.current_tcb) then
      s.current_tcb = s.current_tcb.link
    else
      s.current_id = s.current_tcb.id
      s.current_tcb = run_tcb(s, s.current_tcb)
    end
  end
end

-- blocks holds false for "no task" so that the table stays a plain array.
local function release(s, id)
  local tcb = s.blocks[id]
  if not tcb then return nil end
  mark_as_not_held(tcb)
  if tcb.priority > s.current_tcb.priority then return tcb end
  return s.current_tcb
end

local function hold_current(s)
  s.hold_count = s.hold_count + 1
  mark_as_held(s.current_tcb)
  return s.current_tcb.link
end

local function suspend_current(s)
  mark_as_suspended(s.current_tcb)
  return s.current_tcb
end

local function queue_packet(s, packet)
  local t = s.blocks[packet.id]
  if not t then return nil end
  s.queue_count = s.queue_count + 1
  packet.link = nil
  packet.id = s.current_id
  return check_priority_add(t, s.current_tcb, packet)
end

-- ---- the four kinds of task

-- v1: a pseudo-random seed; v2: the remaining count.
local function run_idle(s, t)
  t.v2 = t.v2 - 1
  if t.v2 == 0 then return hold_current(s) end
  if t.v1 % 2 == 0 then
    t.v1 = floor(t.v1 / 2)
    return release(s, ID_DEVICE_A)
  end
  t.v1 = bxor(floor(t.v1 / 2), 0xD008)
  return release(s, ID_DEVICE_B)
end

-- p1: the pending packet.
local function run_device(s, t, packet)
  if packet == nil then
    if t.p1 == nil then return suspend_current(s) end
    local v = t.p1
    t.p1 = nil
    return queue_packet(s, v)
  end
  t.p1 = packet
  return hold_current(s)
end

-- v1: the destination handler; v2: a counter.
local function run_worker(s, t, packet)
  if packet == nil then return suspend_current(s) end
  if t.v1 == ID_HANDLER_A then t.v1 = ID_HANDLER_B else t.v1 = ID_HANDLER_A end
  packet.id = t.v1
  packet.a1 = 0
  for i = 0, DATA_SIZE - 1 do
    t.v2 = t.v2 + 1
    if t.v2 > 26 then t.v2 = 1 end
    packet.a2[i] = t.v2
  end
  return queue_packet(s, packet)
end

-- p1: the work packet queue; p2: the device packet queue.
local function run_handler(s, t, packet)
  if packet ~= nil then
    if packet.kind == KIND_WORK then
      t.p1 = add_to(packet, t.p1)
    else
      t.p2 = add_to(packet, t.p2)
    end
  end
  if t.p1 ~= nil then
    local count = t.p1.a1
    if count < DATA_SIZE then
      if t.p2 ~= nil then
        local v = t.p2
        t.p2 = t.p2.link
        v.a1 = t.p1.a2[count]
        t.p1.a1 = count + 1
        return queue_packet(s, v)
      end
    else
      local v = t.p1
      t.p1 = t.p1.link
      return queue_packet(s, v)
    end
  end
  return suspend_current(s)
end

run_task = function(s, task, packet)
  local k = task.kind
  if k == TASK_IDLE then return run_idle(s, task) end
  if k == TASK_WORKER then return run_worker(s, task, packet) end
  if k == TASK_HANDLER then return run_handler(s, task, packet) end
  return run_device(s, task, packet)
end

-- ---- one run

local function run_richards()
  local s = new_scheduler()
  add_idle_task(s, ID_IDLE, 0, nil, COUNT)

  local queue = new_packet(nil, ID_WORKER, KIND_WORK)
  queue = new_packet(queue, ID_WORKER, KIND_WORK)
  add_worker_task(s, ID_WORKER, 1000, queue)

  queue = new_packet(nil, ID_DEVICE_A, KIND_DEVICE)
  queue = new_packet(queue, ID_DEVICE_A, KIND_DEVICE)
  queue = new_packet(queue, ID_DEVICE_A, KIND_DEVICE)
  add_handler_task(s, ID_HANDLER_A, 2000, queue)

  queue = new_packet(nil, ID_DEVICE_B, KIND_DEVICE)
  queue = new_packet(queue, ID_DEVICE_B, KIND_DEVICE)
  queue = new_packet(queue, ID_DEVICE_B, KIND_DEVICE)
  add_handler_task(s, ID_HANDLER_B, 3000, queue)

  add_device_task(s, ID_DEVICE_A, 4000, nil)
  add_device_task(s, ID_DEVICE_B, 5000, nil)
  schedule(s)
  return s
end

local runs = 5000
if arg[1] then runs = tonumber(arg[1]) end
local queue_count, hold_count = 0, 0
for i = 1, runs do
  local s = run_richards()
  queue_count = s.queue_count
  hold_count = s.hold_count
  if queue_count ~= EXPECTED_QUEUE_COUNT or hold_count ~= EXPECTED_HOLD_COUNT then
    io.write(string.format("richards: bad result: queue count %d, hold count %d\n", queue_count, hold_count))
    os.exit(1)
  end
end
io.write(string.format("queue count: %d\nhold count: %d\n", queue_count, hold_count))
