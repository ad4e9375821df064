-- Shared set-up for specs: a fresh stand-in wezterm, a settable clock, and a scripted daemon
-- (the status file it keeps, and wezparctl answers for actions).

local Fake = require 'support.fake_wezterm'
local samples = require 'support.samples'
local client = require 'wezparallel.client'
local options = require 'wezparallel.options'

local M = {}

-- Status files live in one temporary directory per spec file, removed when busted exits.
local tmpdir = nil
local files = 0

local function status_dir()
  if tmpdir == nil then
    local pipe = assert(io.popen('mktemp -d', 'r'))
    tmpdir = pipe:read('l')
    pipe:close()
    assert(tmpdir and tmpdir ~= '', 'mktemp -d failed')
    require('busted').subscribe({ 'exit' }, function()
      os.execute("rm -rf '" .. tmpdir .. "'")
      return nil, true
    end)
  end
  return tmpdir
end

--- The wall time every spec clock starts at, and the default `now` of a context.
M.T0 = 1000

--- A clock whose time the spec sets: clock.t = 12.
function M.clock()
  local clock = { t = M.T0 }
  clock.now = function() return clock.t end
  return clock
end

--- The status file of the daemon `fake` talks to: a fresh path per stand-in (no file yet).
function M.status_file(fake)
  if fake.status_file == nil then
    files = files + 1
    fake.status_file = string.format('%s/status-%d.json', status_dir(), files)
  end
  return fake.status_file
end

--- Writes `text` as the daemon does: a temporary file renamed over the status file.
function M.write_status(fake, text)
  local path = M.status_file(fake)
  local staging = path .. '.tmp'
  local f = assert(io.open(staging, 'wb'))
  f:write(text)
  f:close()
  assert(os.rename(staging, path))
end

--- Scripts `fake` as a daemon with `processes`: its status file lists them (written at T0 unless
--- `daemon` says otherwise, see samples.snapshot_json), and every wezparctl verb succeeds.
--- Returns the fake.
function M.daemon(fake, processes, errors, notices, daemon)
  local fields = { written_at = M.T0 }
  for k, v in pairs(daemon or {}) do
    fields[k] = v
  end
  M.write_status(fake, samples.snapshot_json(processes, errors, notices, fields))
  fake:respond(function()
    return true, '', ''
  end)
  return fake
end

--- A daemon that is not running: no status file, and wezparctl exits 3 with a message.
function M.down(fake)
  os.remove(M.status_file(fake))
  fake:respond(function()
    return false, '', 'wezparctl: cannot reach the daemon at /run/wp.sock\n'
  end)
  return fake
end

--- A context like apply_to_config builds: { wezterm, opts, client }. The status file defaults
--- to the fake's, the clock to a fixed T0.
function M.context(fake, opts)
  local given = { status_file = M.status_file(fake), now = function() return M.T0 end }
  for k, v in pairs(opts or {}) do
    given[k] = v
  end
  local resolved = options.resolve(given)
  return { wezterm = fake, opts = resolved, client = client.new(fake, resolved) }
end

--- The calls made with `verb` (the first word after the wezparctl prefix and --socket).
function M.calls_of(fake, verb)
  local out = {}
  for _, argv in ipairs(fake.calls) do
    for _, word in ipairs(argv) do
      if word == verb then
        out[#out + 1] = argv
        break
      end
    end
  end
  return out
end

--- A pane whose wrapper announced process `id` the way panewrap.py does: by writing
--- OSC 1337 SetUserVar sequences to its terminal.
function M.wrapped_pane(fake, pane_id, id)
  local pane = fake:pane(pane_id)
  fake:write(pane, Fake.user_var_bytes('wezparallel_id', id))
  return pane
end

--- What the real pane wrapper (wezparallel/backends/panewrap.py) writes to a WezTerm pane's
--- terminal around `sh -c SCRIPT`, for process WORKSPACE:NAME: run under `script` so that it
--- has a terminal, with WEZTERM_PANE set as WezTerm sets it.
function M.wrapper_output(workspace, name, script)
  local dir = os.tmpname()
  os.remove(dir)
  local status = dir .. '/panes/' .. workspace .. '/' .. name .. '.json'
  assert(os.execute('mkdir -p ' .. dir .. '/panes/' .. workspace))
  local inner = string.format("env WEZTERM_PANE=5 python3 -I -S %s --status-file %s -- sh -c '%s'",
    '../wezparallel/backends/panewrap.py', status, script)
  local pipe = assert(io.popen('script -qec "' .. inner .. '" /dev/null', 'r'))
  local out = pipe:read('a')
  pipe:close()
  os.execute('rm -rf ' .. dir)
  assert(out:find('SetUserVar', 1, true), 'the wrapper wrote no user variable: ' .. out)
  return out
end

--- Loads the top-level module against `fake` (as `require 'wezterm'` would return it).
function M.load_module(fake)
  package.loaded.wezterm = fake
  return require 'wezparallel'
end

M.Fake = Fake
M.samples = samples
return M
