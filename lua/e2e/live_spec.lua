-- The module against a live daemon started by tests/lua/test_wezparctl_e2e.py, which
-- configures one process `a:s` (sleep 600, subprocess backend), waits until the daemon's status
-- file shows it RUNNING, and checks afterwards that the stop sent from here reached the daemon.
-- The status comes from that file (no process); the stop runs the real wezparctl.
local e2e = require 'e2e.support'
local events = require 'wezparallel.events'
local keys = require 'wezparallel.keys'
local h = require 'support.helpers'

local Fake = h.Fake

describe('real wezparctl, live daemon', function()
  local fake, ctx
  before_each(function()
    fake, ctx = e2e.context()
  end)

  it('reads the real status file, on the real clock, starting no process', function()
    local result = ctx.client:status()
    assert.is_true(result.up, result.reason)
    assert.equal(0, #fake.calls)
    assert.truthy(math.abs(os.time() - result.data.daemon.written_at) < 15,
      'written_at is wall seconds: ' .. tostring(result.data.daemon.written_at))
    local p = result.data.processes[1]
    assert.equal('a:s', p.id)
    assert.equal('a', p.workspace)
    assert.equal('RUNNING', p.state)
    assert.equal('subprocess', p.backend)
    assert.same({}, result.data.config.errors)
  end)

  it('shows the counts in the status bar', function()
    events.register(ctx)
    local window = Fake.window('a')
    fake:emit('update-status', window, fake:pane(1))
    assert.equal('wp 1 running ', window.right_status)
    assert.equal(0, #fake.calls)
  end)

  it('stops a process picked in the selector through the real CLI', function()
    local config, window, pane = {}, Fake.window('a'), fake:pane(1)
    keys.apply(ctx, config)
    for _, k in ipairs(config.keys) do
      if k.key == 'p' then
        k.action.callback(window, pane)
      end
    end
    Fake.choose(window, 'InputSelector', 'a:s')
    Fake.choose(window, 'InputSelector', 'stop')
    assert.same({}, window.toasts)
    local last = fake.calls[#fake.calls]
    assert.same({ 'stop', 'a:s', '--no-wait' }, { last[4], last[5], last[6] })
  end)
end)
