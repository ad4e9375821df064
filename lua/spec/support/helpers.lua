-- Shared set-up for specs: a fresh stand-in wezterm, a settable clock, and a scripted daemon.

local Fake = require 'support.fake_wezterm'
local samples = require 'support.samples'
local client = require 'wezparallel.client'
local options = require 'wezparallel.options'

local M = {}

--- A clock whose time the spec sets: clock.t = 12.
function M.clock()
  local clock = { t = 1000 }
  clock.now = function() return clock.t end
  return clock
end

--- Scripts `fake` as a daemon with `processes`: status --json answers with them (exit 1 when
--- one is FATAL, as wezparctl does), every other verb succeeds. Returns the fake.
function M.daemon(fake, processes, errors, notices)
  fake:respond(function(argv)
    for i, word in ipairs(argv) do
      if word == 'status' and argv[i + 1] == '--json' then
        local fatal = false
        for _, p in ipairs(processes) do
          fatal = fatal or p.state == 'FATAL'
        end
        return not fatal, samples.status_json(processes, errors, notices), ''
      end
    end
    return true, '', ''
  end)
  return fake
end

--- A daemon that is down: wezparctl exits 3 with a message on stderr.
function M.down(fake)
  fake:respond(function()
    return false, '', 'wezparctl: cannot reach the daemon at /run/wp.sock\n'
  end)
  return fake
end

--- A context like apply_to_config builds: { wezterm, opts, client }.
function M.context(fake, opts)
  local resolved = options.resolve(opts)
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
