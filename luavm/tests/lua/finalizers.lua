-- __gc finalizers, compared with lua5.4: run by collectgarbage() for dead
-- objects (newest marked first), once (a resurrected object is not
-- finalized again), errors ignored, marking only when __gc is present at
-- setmetatable, the __gc of finalization time called, and at the end of the
-- program for every object still marked.
local log = {}
local mt = {__gc = function(o) print("gc", o.name) end}
local function make(name) return setmetatable({name = name}, mt) end
do
  for i = 1, 5 do make("tmp" .. i) end
end
local keep = make("kept")
collectgarbage()
print("after first collect")
local a = make("a") local b = make("b")
a, b = nil, nil
collectgarbage()
print("after second collect")
-- resurrection: the finalizer stores the object; it is not finalized twice
local saved
local r = setmetatable({name = "res"}, {__gc = function(o) saved = o print("resurrect", o.name) end})
r = nil
collectgarbage()
print("saved", saved and saved.name)
saved = nil
collectgarbage()
print("no second call")
-- an error in __gc is ignored
setmetatable({}, {__gc = function() error("in gc") end})
collectgarbage()
print("error ignored")
-- __gc added to the metatable after setmetatable does not mark
local mt2 = {}
setmetatable({name = "late"}, mt2)
mt2.__gc = function(o) print("gc late") end
collectgarbage()
print("late not marked")
-- a non-function __gc is marked but nothing runs
setmetatable({}, {__gc = true})
collectgarbage()
-- the metatable's __gc at finalization time is the one called
local mt3 = {__gc = function() print("old gc") end}
local c = setmetatable({}, mt3)
mt3.__gc = function() print("new gc") end
c = nil
collectgarbage()
-- finalizers of objects alive at the end run at close, newest first
make("end1") ; local e1 = make("end1b") ; local e2 = make("end2")
print("end of program", keep.name)

-- garbage of a call statement in the main chunk
make("A")
collectgarbage()
print("after A")
local x = make("B")
x = nil
collectgarbage()
print("after B")
local function f() make("C") end
f()
collectgarbage()
print("after C")
