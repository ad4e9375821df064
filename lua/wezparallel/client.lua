-- The one place that runs `wezparctl`. Everything the Lua side knows about the daemon comes
-- from `wezparctl ... --json` through `wezterm.run_child_process`; the socket protocol is never
-- reimplemented here, so it can change without touching the terminal config.
--
-- `status()` is called from `update-status`, i.e. every second in every window: it answers from
-- a cache and asks the daemon at most once per `interval` seconds (or `down_interval` once the
-- daemon did not answer). A daemon that is down is a cached result like any other: no error
-- pop-ups, no retry loop.

local json = require 'wezparallel.json'

local M = {}
M.__index = M

--- Creates a client. `wezterm` is the wezterm module (or a stand-in); `opts` are resolved options.
function M.new(wezterm, opts)
  local self = setmetatable({}, M)
  self.wezterm = wezterm
  self.opts = opts
  self.cached = nil
  self.fetched_at = nil
  self.forced = false
  return self
end

--- The argv for one wezparctl invocation: the configured prefix, `--socket`, then `args`.
function M:argv(args)
  local argv = {}
  local prefix = self.opts.wezparctl
  if type(prefix) == 'table' then
    for _, word in ipairs(prefix) do
      argv[#argv + 1] = word
    end
  else
    argv[1] = prefix
  end
  if self.opts.socket then
    argv[#argv + 1] = '--socket'
    argv[#argv + 1] = self.opts.socket
  end
  for _, word in ipairs(args) do
    argv[#argv + 1] = word
  end
  return argv
end

--- Runs wezparctl with `args`; returns ok, stdout, stderr and never raises (a missing binary
--- makes run_child_process raise: that becomes ok=false with the message in stderr).
function M:run(args)
  local called, ok, stdout, stderr = pcall(self.wezterm.run_child_process, self:argv(args))
  if not called then
    return false, '', tostring(ok)
  end
  return ok, stdout or '', stderr or ''
end

--- Decodes JSON with wezterm.json_parse when it exists, else with the bundled decoder.
function M:decode(text)
  local parse = self.wezterm.json_parse or json.decode
  local decoded, value = pcall(parse, text)
  if decoded then
    return value
  end
  return nil
end

local function first_line(text)
  return (text or ''):match('^%s*([^\n]*)') or ''
end

-- `status --json` exits 1 when something is FATAL and still prints the JSON, so success is
-- judged by the output, not the exit status; exit 3 (unreachable) prints nothing on stdout.
local function to_result(client, ok, stdout, stderr)
  local data = client:decode(stdout)
  if type(data) == 'table' and type(data.processes) == 'table' then
    data.config = data.config or {}
    data.config.errors = data.config.errors or {}
    return { up = true, data = data }
  end
  local reason = first_line(stderr)
  if reason == '' then
    reason = ok and 'unexpected output from wezparctl status --json' or 'no answer'
  end
  return { up = false, reason = reason }
end

function M:_due(now)
  if self.fetched_at == nil then
    return true
  end
  local age = now - self.fetched_at
  if self.forced then
    return age >= self.opts.min_interval
  end
  local wait = self.cached.up and self.opts.interval or self.opts.down_interval
  return age >= wait
end

--- The daemon's status: { up = true, data = <status JSON> } or { up = false, reason = text }.
--- Asks wezparctl only when the cached answer is older than the interval.
function M:status()
  local now = self.opts.now()
  if self:_due(now) then
    self.cached = to_result(self, self:run({ 'status', '--json' }))
    self.fetched_at = now
    self.forced = false
  end
  return self.cached
end

--- Marks the cache stale (after an action, or when a pane reports a change); the next status()
--- asks again once `min_interval` has passed since the last call, so bursts stay cheap.
function M:invalidate()
  self.forced = true
end

return M
