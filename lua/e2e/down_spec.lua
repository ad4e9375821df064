-- No daemon: no status file, and the real wezparctl exits 3. The status bar says down without
-- starting a process; an action reports wezparctl's own reason.
local e2e = require 'e2e.support'
local events = require 'wezparallel.events'
local h = require 'support.helpers'

describe('no daemon', function()
  it('is down (not running) and the status bar says so, starting no process', function()
    local fake, ctx = e2e.context()
    assert.same({ up = false, reason = 'not running' }, ctx.client:status())
    events.register(ctx)
    local window = h.Fake.window('default')
    fake:emit('update-status', window, fake:pane(1))
    assert.equal('wezparallel: down ', window.right_status)
    assert.equal(0, #fake.calls)
  end)

  it('an action still runs the real wezparctl, which says why it failed', function()
    local fake, ctx = e2e.context()
    local ok, _, stderr = ctx.client:run({ 'ping' })
    assert.is_false(ok)
    assert.truthy(stderr:find('no wezparallel daemon answers', 1, true), stderr)
    assert.equal(1, #fake.calls)
  end)
end)
