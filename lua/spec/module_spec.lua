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
    local opts = { now = h.clock().now, status_file = h.status_file(fake) }
    assert.equal(config, wp.apply_to_config(config, opts))
    assert.equal(12, config.font_size)
    assert.equal(4, #config.keys)
    assert.equal(1, #fake.handlers['update-status'])
    assert.equal(1, #fake.handlers['user-var-changed'])
  end)

  it('status = false leaves update-status to the user, who can call status_text', function()
    wp.apply_to_config({}, { status = false, now = h.clock().now,
      status_file = h.status_file(fake) })
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

-- WezTerm loads a plugin with `require(component)` through the package.path entry
-- `<data dir>/plugins/?/plugin/init.lua` (config/src/lua.rs, lua-api-crates/plugin/src/lib.rs),
-- in a Lua without the `debug` library. These specs load plugin/init.lua that way.
describe('plugin/init.lua as WezTerm loads it', function()
  local COMPONENT = 'httpssCssZssZsgithubsDscomsZswezparallelsZswezparallel'
  local saved, fake, plugins

  local function repo_root()
    local pipe = assert(io.popen('cd .. && pwd'))
    local root = pipe:read('l')
    pipe:close()
    return root
  end

  before_each(function()
    saved = { path = package.path, debug = _G.debug, module = package.loaded.wezparallel,
      wezterm = package.loaded.wezterm }
    plugins = os.tmpname()
    os.remove(plugins)
    assert(os.execute('mkdir -p ' .. plugins .. ' && ln -s ' .. repo_root() .. ' '
      .. plugins .. '/' .. COMPONENT))
    fake = Fake.new()
    package.loaded.wezterm = fake
    package.loaded.wezparallel = nil
  end)

  after_each(function()
    package.path, _G.debug = saved.path, saved.debug
    package.loaded.wezparallel, package.loaded.wezterm = saved.module, saved.wezterm
    package.loaded[COMPONENT] = nil
    os.execute('rm -rf ' .. plugins)
  end)

  -- Runs `load` with no `debug` global, as in WezTerm; returns pcall's results and the path.
  local function without_debug(load)
    _G.debug = nil
    local ok, mod = pcall(load)
    _G.debug = saved.debug
    return ok, mod, package.path
  end

  it('finds its directory from require, with no debug library and a broken plugins/ entry',
    function()
      fake.plugin_dirs = { { component = 'notagit', broken = true } }
      package.path = plugins .. '/?/plugin/init.lua'
      local ok, mod, path = without_debug(function() return require(COMPONENT) end)
      assert.is_true(ok, tostring(mod))
      assert.equal('function', type(mod.apply_to_config))
      assert.truthy(path:find(plugins .. '/' .. COMPONENT .. '/lua/?/init.lua', 1, true), path)
    end)

  it('falls back to plugin_dir from plugin.list() (WezTerm 20240127 on)', function()
    fake.plugin_dirs = { { url = 'https://github.com/wezparallel/wezparallel',
      component = COMPONENT, plugin_dir = plugins .. '/' .. COMPONENT } }
    package.path = '/nonexistent/?.lua'
    local ok, mod, path = without_debug(function() return dofile('../plugin/init.lua') end)
    assert.is_true(ok, tostring(mod))
    assert.truthy(path:find(plugins .. '/' .. COMPONENT .. '/lua/', 1, true), path)
  end)

  it('says clearly when nothing tells its directory, also when plugin.list() raises', function()
    fake.plugin_dirs = { { component = 'notagit', broken = true } }
    package.path = '/nonexistent/?.lua'
    local ok, err = without_debug(function() return dofile('../plugin/init.lua') end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find('cannot find the plugin directory', 1, true), err)
  end)
end)

describe('the WezTerm stand-in', function()
  it('rejects an action field the action does not have, as WezTerm does', function()
    local fake = Fake.new()
    assert.has_error(function() return fake.action.SwitchToWorkspace { workspace = 'x' } end,
      '`workspace` is not a valid SwitchToWorkspace field.')
    assert.same({ action = 'SwitchToWorkspace', args = { name = 'x' } },
      fake.action.SwitchToWorkspace { name = 'x' })
  end)

  it('raises from plugin.list() like WezTerm when plugins/ has no git checkout', function()
    local fake = Fake.new()
    fake.plugin_dirs = { { component = 'notagit', broken = true } }
    assert.has_error(function() return fake.plugin.list() end, 'no remotes!?')
  end)
end)
