-- Which toasts to show: the daemon's notices (a health probe with `action: notify`) and agents
-- that have just started waiting for the user. Pure: `news` takes what was seen before and the
-- latest status, and returns the messages plus what is seen now; events.lua shows them.
--
-- Only changes seen while WezTerm runs are toasted. The first status sets the baseline, so a
-- config reload or a new window does not replay old notices or announce every agent that was
-- already waiting (the status bar shows those). Notices are keyed by their time, so a
-- restarted daemon neither replays nor hides any.

local M = {}

--- The state before any status was seen.
function M.initial()
  return { baseline = false, last_at = nil, activity = {} }
end

local function activities(data)
  local out = {}
  for _, p in ipairs(data.processes or {}) do
    if type(p.activity) == 'string' then
      out[p.id] = p.activity
    end
  end
  return out
end

--- (messages, new state) for `result` as client:status() returns it; a daemon that is down
--- shows nothing and keeps the state, so its return is not news either.
function M.news(state, result)
  if not result.up then
    return {}, state
  end
  local messages = {}
  local last_at = state.last_at
  for _, n in ipairs(result.data.notices or {}) do
    if type(n.at) == 'number' and (last_at == nil or n.at > last_at) then
      if state.baseline then
        messages[#messages + 1] = tostring(n.process) .. ': ' .. tostring(n.message)
      end
      last_at = n.at
    end
  end
  local now = activities(result.data)
  local waiting = {}
  if state.baseline then
    for id, activity in pairs(now) do
      if activity == 'waiting' and state.activity[id] ~= 'waiting' then
        waiting[#waiting + 1] = id
      end
    end
  end
  table.sort(waiting)
  for _, id in ipairs(waiting) do
    messages[#messages + 1] = id .. ' is waiting for you'
  end
  return messages, { baseline = true, last_at = last_at, activity = now }
end

return M
