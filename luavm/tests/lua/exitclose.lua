-- os.exit(code, true) closes the state as lua_close does: pending
-- to-be-closed variables, innermost first, then the finalizers.
local a <close> = setmetatable({}, {__close = function() print("closed a") end})
do
  local b <close> = setmetatable({}, {__close = function(_, e) print("closed b", e) end})
  setmetatable({}, {__gc = function() print("gc ran") end})
  local function f()
    local c <close> = setmetatable({}, {__close = function() print("closed c") end})
    os.exit(0, true)
  end
  f()
end
