-- The daemon as the Lua side sees it: its status from the snapshot file it keeps, and
-- `wezparctl` for everything it should do.
--
-- `status()` is called from `update-status`, i.e. every second in every window, so it starts no
-- process: it reads `status.json` in the daemon's state dir (`status_file`), which the daemon
-- rewrites atomically (temp file + rename) within a quarter second of any visible change and on
-- a heartbeat; a text unchanged since the last read is not decoded again. A refresh costs
-- microseconds, where running `wezparctl status --json` cost a Python start-up (about 70 ms of
-- CPU) each time (benchmarks/statusbar.py measures both).
--
-- The daemon is down when the file is missing ("not running"), says `up: false` (a clean stop:
-- "stopped"), or was last written more than its `stale_after` seconds ago (a daemon killed
-- with SIGKILL cannot say so: "not answering"). Actions (start, stop, send, reload...) still run
-- `wezparctl ... --json` through `wezterm.run_child_process`, so the socket protocol is never
-- reimplemented here. A daemon that is down is a result like any other: no error pop-ups.

local M = {}
M.__index = M

local ENOENT = 2

--- Creates a client. `wezterm` is the wezterm module (or a stand-in); `opts` are resolved options.
function M.new(wezterm, opts)
  local self = setmetatable({}, M)
  self.wezterm = wezterm
  self.opts = opts
  self.cached = nil
  self.fetched_at = nil
  self.forced = false
  self.last_text = nil -- the status file's text at the last read, and what it said
  self.last_data = nil
  self.last_reason = nil
  self.reads = 0 -- how often the file was read (specs and the benchmark count them)
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

local function first_line(text)
  return (tostring(text or '')):match('^%s*([^\n]*)') or ''
end

local function down(reason)
  return { up = false, reason = reason }
end

-- The file's text, or nil and the reason the daemon counts as down.
local function read_text(path)
  local file, err, code = io.open(path, 'rb')
  if file == nil then
    if code == ENOENT then
      return nil, 'not running'
    end
    return nil, 'cannot read the status file: ' .. first_line(err)
  end
  local text, read_err = file:read('a')
  file:close()
  if text == nil then
    return nil, 'cannot read the status file ' .. path .. ': ' .. first_line(read_err)
  end
  return text
end

-- The snapshot in `text`, or nil and why it is unreadable.
local function parse(wezterm, path, text)
  local parsed, data = pcall(wezterm.json_parse, text)
  if not parsed then
    return nil, 'unreadable status file ' .. path .. ': ' .. first_line(data)
  end
  local daemon = type(data) == 'table' and data.daemon
  if type(daemon) ~= 'table' or type(data.processes) ~= 'table'
      or type(daemon.written_at) ~= 'number' then
    return nil, 'unreadable status file ' .. path .. ': not a wezparallel status snapshot'
  end
  data.config = data.config or {}
  data.config.errors = data.config.errors or {}
  return data
end

-- What a parsed snapshot says at wall time `now` (seconds since the epoch).
local function judge(data, now)
  local daemon = data.daemon
  if daemon.up ~= true then
    return down('stopped')
  end
  local age = now - daemon.written_at
  if age > (tonumber(daemon.stale_after) or 25) then
    return down(string.format('not answering (status last written %d s ago)', age))
  end
  return { up = true, data = data }
end

--- Reads and judges the status file now, bypassing the cache. The file changes only when
--- something visible does and on the heartbeat, so a text equal to the last one is not decoded
--- again; it is judged again, as time alone can make it stale.
function M:read(now)
  self.reads = self.reads + 1
  local text, reason = read_text(self.opts.status_file)
  if text == nil then
    self.last_text = nil
    return down(reason)
  end
  if text ~= self.last_text then
    self.last_text = text
    self.last_data, self.last_reason = parse(self.wezterm, self.opts.status_file, text)
  end
  if self.last_data == nil then
    return down(self.last_reason)
  end
  return judge(self.last_data, now)
end

function M:_due(now)
  if self.fetched_at == nil then
    return true
  end
  local age = now - self.fetched_at
  return age >= (self.forced and self.opts.min_interval or self.opts.interval)
end

--- The daemon's status: { up = true, data = <status JSON> } or { up = false, reason = text }.
--- Reads the status file when the cached answer is older than `interval`; never starts a
--- process.
function M:status()
  local now = self.opts.now()
  if self:_due(now) then
    self.cached = self:read(now)
    self.fetched_at = now
    self.forced = false
  end
  return self.cached
end

--- Marks the cache stale (after an action, or when a pane reports a change); the next status()
--- reads again once `min_interval` has passed since the last read, so bursts stay cheap.
function M:invalidate()
  self.forced = true
end

return M
