-- After the daemon of tests/lua/test_wezparctl_e2e.py stopped cleanly: its status file says so.
local e2e = require 'e2e.support'

describe('a daemon that stopped cleanly', function()
  it('reads as stopped from its status file, starting no process', function()
    local fake, ctx = e2e.context()
    assert.same({ up = false, reason = 'stopped' }, ctx.client:status())
    assert.equal(0, #fake.calls)
  end)
end)
