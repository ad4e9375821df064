-- The options `apply_to_config(config, opts)` accepts, with their defaults, in one place.
-- Merging is shallow except for `keys` and `colors`, which merge per entry so a user can change
-- one binding or one colour without restating the rest.

local M = {}

M.defaults = {
  -- How to run the control CLI: a command name/path, or an argv prefix such as
  -- { '/home/me/.venv/bin/python', '-m', 'wezparallel.cli.ctl' }.
  wezparctl = 'wezparctl',
  -- Daemon socket, passed as `wezparctl --socket PATH` when set.
  socket = nil,
  -- The daemon's status snapshot, read by the status bar (no process started). Default:
  -- status.json in the daemon's default state dir, from the environment WezTerm started with
  -- (see M.default_status_file); `wezparctl lua-path --snippet` writes the resolved path.
  status_file = nil,
  -- Seconds between two reads of the status file (WezTerm refreshes the status every second).
  interval = 1,
  -- Smallest gap, in seconds, between two reads forced by user variables or key actions.
  min_interval = 0,
  -- Install the `update-status` handler that sets the right status.
  status = true,
  -- Toast the daemon's notices (health probes with `action: notify`) and agents that start
  -- waiting for the user; needs `status`, whose refresh looks for them.
  toasts = true,
  -- How long a toast stays, in milliseconds.
  toast_milliseconds = 8000,
  -- Prefix of the user variables the pane wrapper sets (wezparallel_id, wezparallel_state, ...).
  user_var_prefix = 'wezparallel',
  -- Leader installed only when the config has none; false leaves `config.leader` alone.
  leader = { key = 'Space', mods = 'CTRL|ALT', timeout_milliseconds = 1500 },
  -- Key bindings; set one to false to drop it, or `keys = false` to drop them all.
  keys = {
    pick = { key = 'p', mods = 'LEADER' },
    reload = { key = 'r', mods = 'LEADER' },
    prompt = { key = 'i', mods = 'LEADER' },
    broadcast = { key = 'b', mods = 'LEADER' },
    dashboard = { key = 'd', mods = 'LEADER' },
  },
  -- URL opened by the dashboard key; the binding is left out while this is nil.
  dashboard_url = nil,
  -- Start the daemon at `gui-startup` when `wezparctl ping` fails.
  start_daemon = false,
  -- argv that starts the daemon; `--socket` and `--conf-dir` are appended when set.
  daemon = { 'wezparallel' },
  conf_dir = nil,
  -- Colours of the status bar, as wezterm.format colour specs.
  colors = {
    label = { AnsiColor = 'Grey' },
    running = { AnsiColor = 'Lime' },
    backoff = { AnsiColor = 'Yellow' },
    fatal = { AnsiColor = 'Red' },
    busy = { AnsiColor = 'Aqua' },
    idle = { AnsiColor = 'Grey' },
    waiting_fg = { AnsiColor = 'Black' },
    waiting_bg = { AnsiColor = 'Yellow' },
    down = { AnsiColor = 'Grey' },
    focused = { AnsiColor = 'White' },
  },
  -- Clock in seconds; injectable for tests.
  now = os.time,
}

--- status.json in the state dir the daemon uses by default: $WEZPARALLEL_STATE_DIR, else
--- $XDG_STATE_HOME/wezparallel, else ~/.local/state/wezparallel (as wezparallel/paths.py).
--- `getenv` is os.getenv unless a spec passes its own.
function M.default_status_file(getenv)
  getenv = getenv or os.getenv
  local function set(name)
    local value = getenv(name)
    return value ~= nil and value ~= '' and value or nil
  end
  local dir = set('WEZPARALLEL_STATE_DIR')
  if dir == nil then
    local xdg = set('XDG_STATE_HOME')
    dir = xdg and (xdg .. '/wezparallel')
      or ((set('HOME') or '') .. '/.local/state/wezparallel')
  end
  return dir .. '/status.json'
end

local function merge_entries(default, given)
  if given == false then
    return false
  end
  local out = {}
  for k, v in pairs(default) do
    out[k] = v
  end
  for k, v in pairs(given or {}) do
    out[k] = v
  end
  return out
end

--- Returns a new table: the defaults overlaid with `opts`; `opts` is not modified.
function M.resolve(opts)
  opts = opts or {}
  local out = {}
  for k, v in pairs(M.defaults) do
    out[k] = v
  end
  for k, v in pairs(opts) do
    out[k] = v
  end
  out.status_file = opts.status_file or M.default_status_file()
  out.keys = merge_entries(M.defaults.keys, opts.keys)
  out.colors = merge_entries(M.defaults.colors, opts.colors)
  return out
end

return M
