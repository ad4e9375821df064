-- WezTerm event handlers: the right status, immediate refreshes from pane user variables, and
-- (optionally) starting the daemon with the GUI.
--
-- Handlers never raise: a Lua error in `update-status` would be reported by WezTerm every
-- second. Failures are logged once per distinct message instead.

local show = require 'wezparallel.show'
local status = require 'wezparallel.status'
local toasts = require 'wezparallel.toasts'

local M = {}

local function logger(wezterm)
  local seen = {}
  return function(message)
    if not seen[message] then
      seen[message] = true
      wezterm.log_error('wezparallel: ' .. message)
    end
  end
end

--- The right-status string for `pane`, from the cached daemon status.
function M.status_text(ctx, pane)
  local result = ctx.client:status()
  local focused = result.up and status.focused_process(result.data, pane, ctx.opts.user_var_prefix)
  return status.render(ctx.wezterm, result, focused or nil, ctx.opts.colors)
end

--- Toasts what changed since the last look (see toasts.lua); the state is per context, so
--- with several windows each message shows once, in the window that refreshed first.
function M.toast_news(ctx, window)
  local messages
  messages, ctx.toasts = toasts.news(ctx.toasts or toasts.initial(), ctx.client:status())
  for _, message in ipairs(messages) do
    window:toast_notification('wezparallel', message, nil, ctx.opts.toast_milliseconds)
  end
end

local function refresh(ctx, window, pane, log)
  local ok, err = pcall(function()
    window:set_right_status(M.status_text(ctx, pane))
    if ctx.opts.toasts then
      M.toast_news(ctx, window)
    end
  end)
  if not ok then
    log(tostring(err))
  end
end

--- True when `name` is one of the user variables the pane wrapper sets.
function M.is_our_var(prefix, name)
  return type(name) == 'string' and name:sub(1, #prefix) == prefix
end

--- Starts the daemon in the background unless `wezparctl ping` answers.
function M.ensure_daemon(ctx)
  local ok = ctx.client:run({ 'ping' })
  if ok then
    return false
  end
  local argv = {}
  for _, word in ipairs(ctx.opts.daemon) do
    argv[#argv + 1] = word
  end
  if ctx.opts.socket then
    argv[#argv + 1] = '--socket'
    argv[#argv + 1] = ctx.opts.socket
  end
  if ctx.opts.conf_dir then
    argv[#argv + 1] = '--conf-dir'
    argv[#argv + 1] = ctx.opts.conf_dir
  end
  ctx.wezterm.background_child_process(argv)
  ctx.client:invalidate()
  return true
end

--- Registers the handlers chosen by the options.
function M.register(ctx)
  local wezterm, opts = ctx.wezterm, ctx.opts
  local log = logger(wezterm)
  if opts.status then
    wezterm.on('update-status', function(window, pane)
      refresh(ctx, window, pane, log)
    end)
  end
  -- WezTerm fires this only for panes of the window's shown workspace: the pane wrappers'
  -- variables there, and the attach request of `wezparctl attach` run in one of its panes.
  wezterm.on('user-var-changed', function(window, pane, name, value)
    if name == show.REQUEST_VAR then
      local ok, err = pcall(show.request, wezterm, window, pane, value)
      if not ok then
        log(tostring(err))
      end
    elseif opts.status and M.is_our_var(opts.user_var_prefix, name) then
      ctx.client:invalidate()
      refresh(ctx, window, pane, log)
    end
  end)
  if opts.start_daemon then
    -- Creates no pane, so WezTerm still spawns its default window after this handler.
    wezterm.on('gui-startup', function()
      local ok, err = pcall(M.ensure_daemon, ctx)
      if not ok then
        log('cannot start the daemon: ' .. tostring(err))
      end
    end)
  end
end

return M
