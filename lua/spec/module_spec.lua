local h = require 'support.helpers'

local Fake = h.Fake

describe("require 'wezparallel'", function()
  local fake, wp
  before_each(function()
    fake = h.daemon(Fake.new(), h.samples.FLEET)
    wp = h.load_module(fake)
  end)
  after_each(function()
    package.loaded.wezterm = nil
  end)

  it('apply_to_config adds keys and events and returns the config', function()
    local config = { font_size = 12 }
    assert.equal(config, wp.apply_to_config(config, { now = h.clock().now }))
    assert.equal(12, config.font_size)
    assert.equal(4, #config.keys)
    assert.equal(1, #fake.handlers['update-status'])
    assert.equal(1, #fake.handlers['user-var-changed'])
  end)

  it('status = false leaves update-status to the user, who can call status_text', function()
    wp.apply_to_config({}, { status = false, now = h.clock().now })
    assert.is_nil(fake.handlers['update-status'])
    assert.equal('wp 4 running 1 backoff 1 fatal | agents 1 busy 1 WAITING  1 idle ',
      wp.status_text(fake:pane(1)))
    assert.is_true(wp.status().up)
  end)
end)

describe('plugin/init.lua', function()
  it('puts lua/ on package.path and returns the module', function()
    local saved_path = package.path
    local saved = package.loaded.wezparallel
    package.loaded.wezparallel = nil
    package.path = '/nonexistent/?.lua'
    local ok, mod = pcall(dofile, '../plugin/init.lua')
    local path = package.path
    package.path = saved_path
    package.loaded.wezparallel = saved
    assert.is_true(ok, tostring(mod))
    assert.equal('function', type(mod.apply_to_config))
    assert.truthy(path:find('/lua/?/init.lua', 1, true), path)
  end)
end)
