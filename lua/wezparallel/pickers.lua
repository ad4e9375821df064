-- The pickers behind the key bindings: a fuzzy selector of processes, the operations on one
-- process, and prompts. Every operation goes through `wezparctl` (via the client); the Lua side
-- only chooses what to ask for and where to show the answer. `ctx` is { wezterm, client, opts }.

local show = require 'wezparallel.show'

local M = {}

local function notify(wezterm, window, message)
  wezterm.log_warn('wezparallel: ' .. message)
  pcall(function() window:toast_notification('wezparallel', message, nil, 4000) end)
end

-- Runs a wezparctl verb for a key action; failures become a notification, never an error.
local function run_verb(ctx, window, args)
  local ok, stdout, stderr = ctx.client:run(args)
  ctx.client:invalidate()
  if not ok then
    -- wezparctl explains failures on stderr; `reload` lists config errors last on stdout.
    local reason = stderr:match('^%s*([^\n]+)') or stdout:match('([^\n]+)%s*$') or 'no answer'
    notify(ctx.wezterm, window, args[1] .. ' failed: ' .. reason)
  end
  return ok
end

local function processes(ctx, window)
  local result = ctx.client:status()
  if not result.up then
    notify(ctx.wezterm, window, 'wezparallel is down: ' .. result.reason)
    return nil
  end
  return result.data.processes
end

local function find(list, id)
  for _, p in ipairs(list or {}) do
    if p.id == id then
      return p
    end
  end
  return nil
end

local function label(p)
  local text = string.format('%-28s %-9s %s', p.id, p.state or '?', p.backend or '')
  if p.activity ~= nil then
    text = text .. '  agent: ' .. p.activity
  end
  return text
end

local function split_running(ctx, pane, args)
  pane:split { args = ctx.client:argv(args), direction = 'Bottom', size = 0.4 }
end

-- Shows the process's own pane when it lives in WezTerm, else attaches (tmux) or follows logs.
local function focus(ctx, window, pane, p)
  if p.backend == 'wezterm' and p.pane ~= nil
      and show.pane(ctx.wezterm, window, pane, p.pane, p.workspace) then
    return
  end
  if p.backend == 'tmux' then
    split_running(ctx, pane, { 'attach', p.id })
  else
    split_running(ctx, pane, { 'logs', p.id, '-f' })
  end
end

local function prompt_for(ctx, window, pane, args, description)
  local wezterm = ctx.wezterm
  window:perform_action(wezterm.action.PromptInputLine {
    description = description,
    action = wezterm.action_callback(function(win, _, line)
      if line ~= nil and line ~= '' then
        local full = {}
        for _, a in ipairs(args) do
          full[#full + 1] = a
        end
        full[#full + 1] = '--' -- the line is text, even when it starts with a dash
        full[#full + 1] = line
        run_verb(ctx, win, full)
      end
    end),
  }, pane)
end

local function verb_action(verb)
  return function(ctx, window, _, p)
    run_verb(ctx, window, { verb, p.id, '--no-wait' })
  end
end

local OPERATIONS = {
  { id = 'focus', label = 'Focus its pane', run = focus },
  { id = 'restart', label = 'Restart', run = verb_action('restart') },
  { id = 'stop', label = 'Stop', run = verb_action('stop') },
  { id = 'start', label = 'Start', run = verb_action('start') },
  { id = 'logs', label = 'Logs in a new pane',
    run = function(ctx, _, pane, p) split_running(ctx, pane, { 'logs', p.id, '-f' }) end },
  { id = 'prompt', label = 'Send a prompt', agents_only = true,
    run = function(ctx, window, pane, p)
      prompt_for(ctx, window, pane, { 'send', p.id }, 'Prompt for ' .. p.id)
    end },
}

local function operation_choices(p)
  local choices = {}
  for _, op in ipairs(OPERATIONS) do
    if not op.agents_only or p.activity ~= nil then
      choices[#choices + 1] = { id = op.id, label = op.label .. '  (' .. p.id .. ')' }
    end
  end
  return choices
end

local function choose_operation(ctx, window, pane, p)
  local wezterm = ctx.wezterm
  window:perform_action(wezterm.action.InputSelector {
    title = 'wezparallel: ' .. p.id,
    choices = operation_choices(p),
    action = wezterm.action_callback(function(win, pn, id)
      for _, op in ipairs(OPERATIONS) do
        if op.id == id then
          op.run(ctx, win, pn, p)
        end
      end
    end),
  }, pane)
end

-- A fuzzy selector over `list`; `then_do(window, pane, process)` runs on the chosen entry.
local function select_process(ctx, window, pane, list, title, then_do)
  local wezterm = ctx.wezterm
  local choices = {}
  for _, p in ipairs(list) do
    choices[#choices + 1] = { id = p.id, label = label(p) }
  end
  window:perform_action(wezterm.action.InputSelector {
    title = title,
    choices = choices,
    fuzzy = true,
    action = wezterm.action_callback(function(win, pn, id)
      local p = id and find(list, id)
      if p then
        then_do(win, pn, p)
      end
    end),
  }, pane)
end

M.notify = notify
M.run_verb = run_verb
M.processes = processes
M.prompt_for = prompt_for
M.select_process = select_process
M.choose_operation = choose_operation

return M
