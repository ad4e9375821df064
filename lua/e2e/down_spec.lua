-- The real wezparctl with no daemon behind the socket: it exits 3, and the status bar says so.
local e2e = require 'e2e.support'
local events = require 'wezparallel.events'
local h = require 'support.helpers'

describe('real wezparctl, no daemon', function()
  it('is down, with wezparctl\'s own reason, and the status bar says so', function()
    local fake, ctx = e2e.context()
    local result = ctx.client:status()
    assert.is_false(result.up)
    assert.truthy(result.reason:find('no wezparallel daemon answers', 1, true), result.reason)
    events.register(ctx)
    local window = h.Fake.window('default')
    fake:emit('update-status', window, fake:pane(1))
    assert.equal('wezparallel: down ', window.right_status)
    assert.equal(1, #fake.calls, 'the cached down answer is reused')
  end)
end)
