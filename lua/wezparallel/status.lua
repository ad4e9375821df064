-- The right-status text. `summarize` and `focused_process` are pure (tables in, tables out);
-- `render` only turns their result into wezterm.format items, so the counting is testable
-- without any stand-in.

local M = {}

local PROCESS_STATES = { 'RUNNING', 'BACKOFF', 'FATAL' }
local ACTIVITIES = { 'busy', 'waiting', 'idle' }

--- Counts processes by state and agents by activity.
--- Returns { states = {RUNNING=n, ...}, activities = {busy=n, ...}, agents = n, total = n,
---           config_errors = n }.
function M.summarize(data)
  local states, activities = {}, {}
  for _, s in ipairs(PROCESS_STATES) do
    states[s] = 0
  end
  for _, a in ipairs(ACTIVITIES) do
    activities[a] = 0
  end
  local agents = 0
  for _, p in ipairs(data.processes or {}) do
    if states[p.state] then
      states[p.state] = states[p.state] + 1
    end
    if p.activity ~= nil then
      agents = agents + 1
      if activities[p.activity] then
        activities[p.activity] = activities[p.activity] + 1
      end
    end
  end
  local errors = (data.config and data.config.errors) or {}
  return { states = states, activities = activities, agents = agents,
    total = #(data.processes or {}), config_errors = #errors }
end

local function safe_call(fn)
  local ok, value = pcall(fn)
  if ok then
    return value
  end
  return nil
end

--- The managed process shown in `pane`, or nil. A WezTerm-backend process names its pane id;
--- any other pane is recognised by the `<prefix>_id` user variable the pane wrapper sets.
function M.focused_process(data, pane, prefix)
  if pane == nil or data == nil then
    return nil
  end
  local pane_id = safe_call(function() return tostring(pane:pane_id()) end)
  local vars = safe_call(function() return pane:get_user_vars() end) or {}
  local var_id = vars[(prefix or 'wezparallel') .. '_id']
  for _, p in ipairs(data.processes or {}) do
    if (var_id ~= nil and p.id == var_id)
        or (p.backend == 'wezterm' and p.pane ~= nil and tostring(p.pane) == pane_id) then
      return p
    end
  end
  return nil
end

local function add(items, color, text, bold)
  items[#items + 1] = { Foreground = color }
  if bold then
    items[#items + 1] = { Attribute = { Intensity = 'Bold' } }
  end
  items[#items + 1] = { Text = text }
  items[#items + 1] = 'ResetAttributes'
end

local function add_counts(items, summary, colors)
  local s = summary.states
  add(items, colors.running, string.format('%d running', s.RUNNING))
  if s.BACKOFF > 0 then
    add(items, colors.backoff, string.format(' %d backoff', s.BACKOFF))
  end
  if s.FATAL > 0 then
    add(items, colors.fatal, string.format(' %d fatal', s.FATAL), true)
  end
  if summary.config_errors > 0 then
    add(items, colors.fatal, string.format(' %d config errors', summary.config_errors), true)
  end
end

local function add_agents(items, summary, colors)
  if summary.agents == 0 then
    return
  end
  local a = summary.activities
  add(items, colors.label, ' | agents ')
  add(items, colors.busy, string.format('%d busy', a.busy))
  if a.waiting > 0 then
    -- An agent waiting for its user is the one thing worth interrupting for: reversed colours.
    items[#items + 1] = { Background = colors.waiting_bg }
    add(items, colors.waiting_fg, string.format(' %d WAITING ', a.waiting), true)
  end
  add(items, colors.idle, string.format(' %d idle', a.idle))
end

local function state_color(colors, state)
  if state == 'RUNNING' then
    return colors.running
  elseif state == 'FATAL' or state == 'EXITED' then
    return colors.fatal
  elseif state == 'BACKOFF' or state == 'STARTING' then
    return colors.backoff
  end
  return colors.label
end

local function add_focused(items, p, colors)
  if p == nil then
    return
  end
  add(items, colors.label, ' | ')
  add(items, colors.focused, p.id .. ' ', true)
  local text = p.state or '?'
  if p.activity ~= nil then
    text = text .. ' ' .. p.activity
  end
  if p.activity == 'waiting' then
    items[#items + 1] = { Background = colors.waiting_bg }
    add(items, colors.waiting_fg, ' ' .. text .. ' ', true)
  else
    add(items, state_color(colors, p.state), text)
  end
end

--- The wezterm.format items for one status result (see client.status) and focused process.
function M.items(result, focused, colors)
  local items = {}
  if not result or not result.up then
    add(items, colors.down, 'wezparallel: down ')
    return items
  end
  add(items, colors.label, 'wp ')
  local summary = M.summarize(result.data)
  add_counts(items, summary, colors)
  add_agents(items, summary, colors)
  add_focused(items, focused, colors)
  items[#items + 1] = { Text = ' ' }
  return items
end

--- The formatted right-status string.
function M.render(wezterm, result, focused, colors)
  return wezterm.format(M.items(result, focused, colors))
end

return M
