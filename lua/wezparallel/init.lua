-- wezparallel for WezTerm: a status bar, key bindings and pickers driven by the wezparallel
-- daemon. Load it from wezterm.lua:
--
--   package.path = package.path .. ';DIR/?.lua;DIR/?/init.lua'   -- DIR: `wezparctl lua-path`
--   local wezparallel = require 'wezparallel'
--   wezparallel.apply_to_config(config, { --[[ options, see docs/lua.md ]] })
--
-- or as a plugin: wezterm.plugin.require 'https://github.com/wezparallel/wezparallel'.
-- The status bar reads the daemon's status file (`status_file`); actions run `wezparctl`.
-- Needs WezTerm 20230408 or newer, as the daemon's WezTerm backend does (`wezterm.json_parse`,
-- which the status bar uses, is older: 20220807).

local client = require 'wezparallel.client'
local events = require 'wezparallel.events'
local keys = require 'wezparallel.keys'
local options = require 'wezparallel.options'

local M = {}

M.VERSION = '0.1.0'

-- The context of the last apply_to_config: WezTerm evaluates the config in a fresh Lua state
-- on every reload, so one per state is what a user gets.
local current = nil

--- Adds the status bar, key bindings and events to `config`; returns `config`.
--- `opts` are documented in options.lua and docs/lua.md.
function M.apply_to_config(config, opts)
  local wezterm = require 'wezterm'
  local resolved = options.resolve(opts)
  local ctx = { wezterm = wezterm, opts = resolved }
  ctx.client = client.new(wezterm, resolved)
  keys.apply(ctx, config)
  events.register(ctx)
  current = ctx
  return config
end

--- The right-status string, for users who write their own `update-status` handler
--- (pass `status = false` to apply_to_config and call this from it).
function M.status_text(pane)
  if current == nil then
    error('wezparallel: call apply_to_config first', 2)
  end
  return events.status_text(current, pane)
end

--- The cached daemon status ({ up = true, data = ... } or { up = false, reason = ... }).
function M.status()
  if current == nil then
    error('wezparallel: call apply_to_config first', 2)
  end
  return current.client:status()
end

return M
