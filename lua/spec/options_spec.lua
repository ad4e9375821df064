local options = require 'wezparallel.options'

local function env(vars)
  return function(name) return vars[name] end
end

describe('options.default_status_file', function()
  it('is status.json in $WEZPARALLEL_STATE_DIR first', function()
    assert.equal('/srv/wp/status.json', options.default_status_file(env({
      WEZPARALLEL_STATE_DIR = '/srv/wp', XDG_STATE_HOME = '/x', HOME = '/home/me' })))
  end)

  it('else in $XDG_STATE_HOME/wezparallel', function()
    assert.equal('/x/wezparallel/status.json',
      options.default_status_file(env({ XDG_STATE_HOME = '/x', HOME = '/home/me' })))
  end)

  it('else in ~/.local/state/wezparallel; empty variables count as unset', function()
    assert.equal('/home/me/.local/state/wezparallel/status.json', options.default_status_file(
      env({ WEZPARALLEL_STATE_DIR = '', XDG_STATE_HOME = '', HOME = '/home/me' })))
  end)

  it('reads the real environment by default', function()
    local expected = os.getenv('WEZPARALLEL_STATE_DIR')
    if expected == nil or expected == '' then
      local xdg = os.getenv('XDG_STATE_HOME')
      expected = (xdg ~= nil and xdg ~= '') and (xdg .. '/wezparallel')
        or (os.getenv('HOME') .. '/.local/state/wezparallel')
    end
    assert.equal(expected .. '/status.json', options.resolve({}).status_file)
  end)
end)

describe('options.resolve', function()
  it('keeps a given status_file', function()
    assert.equal('/tmp/s.json', options.resolve({ status_file = '/tmp/s.json' }).status_file)
  end)
end)
