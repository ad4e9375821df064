-- The status bar's cost per refresh, for benchmarks/statusbar.py (`make bench`): the real
-- module, under busted with the WezTerm stand-in, refreshes a window's right status from a real
-- daemon's status file N times, reading the file each time (the cache is invalidated before
-- each refresh, as if the interval had passed: with the default interval, 1 s, WezTerm's once a
-- second refresh is exactly that), twice over: with the file as the daemon left it (the common
-- case: it changes only when something visible does, and on the 10 s heartbeat; the client
-- does not decode a text it has seen), and as if it had changed every time (decoded each
-- time). The stand-in's json_parse is the specs' pure-Lua decoder, slower
-- than WezTerm's own (Rust, serde_json): in WezTerm a refresh costs less than measured here.
--
-- Environment: WEZPARALLEL_BENCH_STATUS_FILE (the daemon's status.json),
-- WEZPARALLEL_BENCH_REFRESHES (N), WEZPARALLEL_BENCH_PROCESSES (the count the file must show
-- RUNNING), WEZPARALLEL_BENCH_OUT (where to write `name value` lines).

local events = require 'wezparallel.events'
local h = require 'support.helpers'

local function env(name)
  local value = os.getenv(name)
  assert(value and value ~= '', name .. ' is not set: run this through benchmarks/statusbar.py')
  return value
end

describe('the status bar, timed', function()
  it('refreshes from the status file and starts no process', function()
    local refreshes = assert(tonumber(env('WEZPARALLEL_BENCH_REFRESHES')))
    local expected = string.format('wp %d running ', assert(tonumber(
      env('WEZPARALLEL_BENCH_PROCESSES'))))
    local fake = h.Fake.new()
    fake:use_real_processes() -- a process started by mistake would be real, and counted
    local t0 = os.time() -- frozen: a second ticking over must not add reads to the loops
    local ctx = h.context(fake, { status_file = env('WEZPARALLEL_BENCH_STATUS_FILE'),
      now = function() return t0 end })
    events.register(ctx)
    local window, pane = h.Fake.window('bench'), fake:pane(1)
    fake:emit('update-status', window, pane)
    assert.equal(expected, window.right_status, tostring(ctx.client:status().reason))
    local function timed(changed)
      local decoded = fake.json_parse_calls
      local start = os.clock()
      for _ = 1, refreshes do
        ctx.client:invalidate()
        if changed then
          ctx.client.last_text = nil -- as if the daemon had rewritten it
        end
        fake:emit('update-status', window, pane)
      end
      return (os.clock() - start) / refreshes * 1e6, fake.json_parse_calls - decoded
    end
    local unchanged, decoded = timed(false)
    -- the daemon rewrites the file on its 10 s heartbeat: a few decodes in a long loop
    assert.truthy(decoded <= 5, decoded .. ' decodes of an unchanged file')
    local changed, decoded_changed = timed(true)
    assert.equal(refreshes, decoded_changed)
    assert.equal(expected, window.right_status)
    assert.equal(2 * refreshes + 1, ctx.client.reads, 'every refresh read the file')
    local out = assert(io.open(env('WEZPARALLEL_BENCH_OUT'), 'w'))
    out:write(string.format('unchanged_us %.3f\nchanged_us %.3f\n', unchanged, changed))
    out:write(string.format('processes_started %d\n', #fake.calls + #fake.background))
    out:close()
  end)
end)
