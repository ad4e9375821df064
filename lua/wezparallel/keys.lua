-- Key bindings: what each default key does, and how they are added to the user's config.
--
-- Defaults sit under LEADER, which no WezTerm default binding uses; a leader is installed only
-- when the config has none. A binding is skipped (with a log line) when the config already binds
-- the same key and mods, so the user's own choices always win.

local pickers = require 'wezparallel.pickers'
local status = require 'wezparallel.status'

local M = {}

-- Order in which bindings are added (and listed in docs/lua.md).
M.NAMES = { 'pick', 'reload', 'prompt', 'broadcast', 'dashboard' }

local function agents_of(list)
  local out = {}
  for _, p in ipairs(list) do
    if p.activity ~= nil then
      out[#out + 1] = p
    end
  end
  return out
end

local handlers = {}

function handlers.pick(ctx, window, pane)
  local list = pickers.processes(ctx, window)
  if list == nil then
    return
  elseif #list == 0 then
    pickers.notify(ctx.wezterm, window, 'no processes are configured')
    return
  end
  pickers.select_process(ctx, window, pane, list, 'wezparallel: pick a process',
    function(win, pn, p) pickers.choose_operation(ctx, win, pn, p) end)
end

function handlers.reload(ctx, window)
  if pickers.run_verb(ctx, window, { 'reload' }) then
    pickers.notify(ctx.wezterm, window, 'configuration reloaded')
  end
end

-- The agent in the focused pane gets the prompt; elsewhere the user picks an agent first.
function handlers.prompt(ctx, window, pane)
  local list = pickers.processes(ctx, window)
  if list == nil then
    return
  end
  local focused = status.focused_process({ processes = list }, pane, ctx.opts.user_var_prefix)
  if focused and focused.activity ~= nil then
    pickers.prompt_for(ctx, window, pane, { 'send', focused.id }, 'Prompt for ' .. focused.id)
    return
  end
  local agents = agents_of(list)
  if #agents == 0 then
    pickers.notify(ctx.wezterm, window, 'no agents are running')
    return
  end
  pickers.select_process(ctx, window, pane, agents, 'wezparallel: send a prompt to',
    function(win, pn, p)
      pickers.prompt_for(ctx, win, pn, { 'send', p.id }, 'Prompt for ' .. p.id)
    end)
end

-- Which workspace a broadcast goes to: the focused process's, else the WezTerm workspace when
-- it has agents, else nil (the user picks).
local function broadcast_target(ctx, window, pane, agents)
  local focused = status.focused_process({ processes = agents }, pane, ctx.opts.user_var_prefix)
  if focused then
    return focused.workspace
  end
  local ok, active = pcall(function() return window:active_workspace() end)
  for _, p in ipairs(agents) do
    if ok and p.workspace == active then
      return active
    end
  end
  return nil
end

local function workspaces_of(agents)
  local seen, out = {}, {}
  for _, p in ipairs(agents) do
    if p.workspace and not seen[p.workspace] then
      seen[p.workspace] = true
      out[#out + 1] = { id = p.workspace, label = p.workspace }
    end
  end
  return out
end

function handlers.broadcast(ctx, window, pane)
  local list = pickers.processes(ctx, window)
  if list == nil then
    return
  end
  local agents = agents_of(list)
  if #agents == 0 then
    pickers.notify(ctx.wezterm, window, 'no agents are running')
    return
  end
  local function ask(win, pn, ws)
    pickers.prompt_for(ctx, win, pn, { 'send', '--workspace', ws },
      'Prompt for every agent of ' .. ws)
  end
  local ws = broadcast_target(ctx, window, pane, agents)
  if ws then
    ask(window, pane, ws)
    return
  end
  window:perform_action(ctx.wezterm.action.InputSelector {
    title = 'wezparallel: broadcast to the agents of',
    choices = workspaces_of(agents),
    fuzzy = true,
    action = ctx.wezterm.action_callback(function(win, pn, id)
      if id then
        ask(win, pn, id)
      end
    end),
  }, pane)
end

function handlers.dashboard(ctx)
  ctx.wezterm.open_with(ctx.opts.dashboard_url)
end

M.handlers = handlers

local function mods_key(mods)
  local parts = {}
  for part in tostring(mods or 'NONE'):upper():gmatch('[^|]+') do
    parts[#parts + 1] = part
  end
  table.sort(parts)
  return table.concat(parts, '|')
end

local function bound(keys, binding)
  for _, k in ipairs(keys) do
    if k.key == binding.key and mods_key(k.mods) == mods_key(binding.mods) then
      return true
    end
  end
  return false
end

local function copy(t)
  local out = {}
  for k, v in pairs(t) do
    out[k] = v
  end
  return out
end

--- Adds the bindings to `config.keys` (and a leader when the config has none).
--- Returns the names of the bindings added.
function M.apply(ctx, config)
  local wezterm, opts, added = ctx.wezterm, ctx.opts, {}
  if opts.keys == false then
    return added
  end
  if opts.leader and config.leader == nil then
    config.leader = copy(opts.leader)
  end
  config.keys = config.keys or {}
  for _, name in ipairs(M.NAMES) do
    local binding = opts.keys[name]
    local wanted = binding and (name ~= 'dashboard' or opts.dashboard_url ~= nil)
    if wanted and bound(config.keys, binding) then
      wezterm.log_warn(string.format('wezparallel: %s %s is already bound; %s not added',
        tostring(binding.mods), binding.key, name))
    elseif wanted then
      config.keys[#config.keys + 1] = {
        key = binding.key,
        mods = binding.mods,
        action = wezterm.action_callback(function(window, pane)
          handlers[name](ctx, window, pane)
        end),
      }
      added[#added + 1] = name
    end
  end
  return added
end

return M
