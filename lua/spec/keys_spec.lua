local h = require 'support.helpers'
local keys = require 'wezparallel.keys'

local Fake = h.Fake

local function binding(config, key, mods)
  for _, k in ipairs(config.keys or {}) do
    if k.key == key and k.mods == mods then
      return k
    end
  end
  return nil
end

-- Presses the binding for `key` under LEADER in `window` with `pane` focused.
local function press(config, key, window, pane)
  local b = assert(binding(config, key, 'LEADER'), 'no binding for LEADER ' .. key)
  b.action.callback(window, pane)
end

describe('keys.apply', function()
  it('adds the LEADER bindings and a leader when the config has none', function()
    local config = {}
    local added = keys.apply(h.context(Fake.new()), config)
    assert.same({ 'pick', 'reload', 'prompt', 'broadcast' }, added)
    assert.same({ key = 'Space', mods = 'CTRL|ALT', timeout_milliseconds = 1500 }, config.leader)
    for _, key in ipairs({ 'p', 'r', 'i', 'b' }) do
      assert.truthy(binding(config, key, 'LEADER'), key)
    end
    assert.is_nil(binding(config, 'd', 'LEADER'), 'dashboard needs dashboard_url')
  end)

  it("keeps the user's leader and the user's own bindings", function()
    local mine = { key = 'p', mods = 'LEADER', action = 'mine' }
    local config = { leader = { key = 'a', mods = 'CTRL' }, keys = { mine } }
    local fake = Fake.new()
    local added = keys.apply(h.context(fake), config)
    assert.same({ key = 'a', mods = 'CTRL' }, config.leader)
    assert.equal('mine', binding(config, 'p', 'LEADER').action)
    assert.same({ 'reload', 'prompt', 'broadcast' }, added)
    assert.truthy(fake.logs[1].message:find('LEADER p is already bound; pick not added', 1, true))
  end)

  it('takes bindings from opts: one changed, one dropped, dashboard with a URL', function()
    local config = {}
    local added = keys.apply(h.context(Fake.new(), {
      keys = { pick = { key = 'P', mods = 'LEADER|SHIFT' }, reload = false },
      dashboard_url = 'http://127.0.0.1:8765/',
    }), config)
    assert.same({ 'pick', 'prompt', 'broadcast', 'dashboard' }, added)
    assert.truthy(binding(config, 'P', 'LEADER|SHIFT'))
    assert.is_nil(binding(config, 'r', 'LEADER'))
  end)

  it('adds nothing with keys = false', function()
    local config = {}
    assert.same({}, keys.apply(h.context(Fake.new(), { keys = false }), config))
    assert.is_nil(config.keys)
    assert.is_nil(config.leader)
  end)
end)

describe('key actions', function()
  local fake, config, window, pane, ctx
  before_each(function()
    fake = h.daemon(Fake.new(), h.samples.FLEET)
    ctx = h.context(fake, { now = h.clock().now, socket = '/tmp/wp.sock' })
    config = {}
    keys.apply(ctx, config)
    window = Fake.window('api')
    pane = fake:pane(1)
  end)

  it('pick lists every process in a fuzzy selector', function()
    press(config, 'p', window, pane)
    local args = Fake.last_action(window, 'InputSelector')
    assert.is_true(args.fuzzy)
    assert.equal(#h.samples.FLEET, #args.choices)
    assert.equal('api:claude', args.choices[2].id)
    assert.truthy(args.choices[2].label:find('agent: waiting', 1, true))
  end)

  it('pick -> restart runs `wezparctl --socket S restart ID --no-wait`', function()
    press(config, 'p', window, pane)
    Fake.choose(window, 'InputSelector', 'api:worker')
    local ops = Fake.last_action(window, 'InputSelector')
    local ids = {}
    for _, c in ipairs(ops.choices) do
      ids[#ids + 1] = c.id
    end
    assert.same({ 'focus', 'restart', 'stop', 'start', 'logs' }, ids)
    Fake.choose(window, 'InputSelector', 'restart')
    assert.same({ 'wezparctl', '--socket', '/tmp/wp.sock', 'restart', 'api:worker', '--no-wait' },
      fake.calls[#fake.calls])
  end)

  it('pick -> stop on an agent also offers a prompt', function()
    press(config, 'p', window, pane)
    Fake.choose(window, 'InputSelector', 'api:claude')
    local ops = Fake.last_action(window, 'InputSelector')
    assert.equal('prompt', ops.choices[#ops.choices].id)
    Fake.choose(window, 'InputSelector', 'stop')
    assert.same({ 'stop', 'api:claude', '--no-wait' }, { table.unpack(fake.calls[#fake.calls], 4) })
  end)

  it('pick -> focus activates the WezTerm pane of the process', function()
    local target = fake:pane(8)
    press(config, 'p', window, pane)
    Fake.choose(window, 'InputSelector', 'api:claude')
    Fake.choose(window, 'InputSelector', 'focus')
    assert.is_true(target.activated)
  end)

  it('pick -> focus switches workspace first when the process lives elsewhere', function()
    local target = fake:pane(8)
    window.workspace = 'default'
    press(config, 'p', window, pane)
    Fake.choose(window, 'InputSelector', 'api:claude')
    Fake.choose(window, 'InputSelector', 'focus')
    assert.same({ name = 'api' }, Fake.last_action(window, 'SwitchToWorkspace'))
    assert.is_true(target.activated)
  end)

  it('pick -> focus on a tmux process opens `wezparctl attach` in a new pane', function()
    press(config, 'p', window, pane)
    Fake.choose(window, 'InputSelector', 'api:review')
    Fake.choose(window, 'InputSelector', 'focus')
    assert.same({ 'wezparctl', '--socket', '/tmp/wp.sock', 'attach', 'api:review' },
      pane.splits[1].args)
  end)

  it('pick -> logs follows the logs in a new pane', function()
    press(config, 'p', window, pane)
    Fake.choose(window, 'InputSelector', 'ui:dev')
    Fake.choose(window, 'InputSelector', 'logs')
    assert.same({ 'wezparctl', '--socket', '/tmp/wp.sock', 'logs', 'ui:dev', '-f' },
      pane.splits[1].args)
  end)

  it('a cancelled selector does nothing', function()
    press(config, 'p', window, pane)
    local before = #fake.calls
    Fake.choose(window, 'InputSelector', nil)
    assert.equal(1, #window.performed)
    assert.equal(before, #fake.calls)
  end)

  it('a failed verb becomes a notification with wezparctl\'s message', function()
    press(config, 'p', window, pane)
    Fake.choose(window, 'InputSelector', 'ui:dev')
    fake:respond(function() return false, '', 'wezparctl: ui:dev: spawn failed: no such file\n' end)
    Fake.choose(window, 'InputSelector', 'start')
    assert.equal('start failed: wezparctl: ui:dev: spawn failed: no such file',
      window.toasts[1].message)
  end)

  it('reload runs `wezparctl reload` and reports config errors from stdout', function()
    fake:respond(function()
      return false, 'no changes\nconf.d/a.yaml:3:1: unknown key\n', ''
    end)
    press(config, 'r', window, pane)
    assert.same({ 'wezparctl', '--socket', '/tmp/wp.sock', 'reload' }, fake.calls[1])
    assert.equal('reload failed: conf.d/a.yaml:3:1: unknown key', window.toasts[1].message)
  end)

  it('prompt sends to the agent in the focused pane', function()
    press(config, 'i', window, fake:pane(8))
    local args = Fake.last_action(window, 'PromptInputLine')
    assert.equal('Prompt for api:claude', args.description)
    Fake.choose(window, 'PromptInputLine', 'fix the tests')
    assert.same({ 'send', 'api:claude', '--', 'fix the tests' },
      { table.unpack(fake.calls[#fake.calls], 4) })
  end)

  it('prompt elsewhere asks which agent first, and an empty line sends nothing', function()
    press(config, 'i', window, pane)
    local args = Fake.last_action(window, 'InputSelector')
    assert.equal(3, #args.choices)
    Fake.choose(window, 'InputSelector', 'api:review')
    local calls = #fake.calls
    Fake.choose(window, 'PromptInputLine', '')
    Fake.choose(window, 'PromptInputLine', nil)
    assert.equal(calls, #fake.calls)
  end)

  it('broadcast sends to every agent of the focused process\'s workspace', function()
    press(config, 'b', window, h.wrapped_pane(fake, 42, 'ui:agent'))
    assert.equal('Prompt for every agent of ui',
      Fake.last_action(window, 'PromptInputLine').description)
    Fake.choose(window, 'PromptInputLine', 'commit now')
    -- `send --workspace` reaches the agents only (`--all-panes` would add the dev servers)
    assert.same({ 'send', '--workspace', 'ui', '--', 'commit now' },
      { table.unpack(fake.calls[#fake.calls], 4) })
  end)

  it('a prompt line that starts with a dash is sent as text, not as an option', function()
    press(config, 'b', window, fake:pane(42, { wezparallel_id = 'ui:agent' }))
    Fake.choose(window, 'PromptInputLine', '--help me')
    local call = fake.calls[#fake.calls]
    assert.same({ '--', '--help me' }, { call[#call - 1], call[#call] })
  end)

  it('broadcast uses the WezTerm workspace when it has agents, else asks', function()
    press(config, 'b', window, pane)
    assert.equal('Prompt for every agent of api',
      Fake.last_action(window, 'PromptInputLine').description)
    window.workspace = 'default'
    press(config, 'b', window, pane)
    local args = Fake.last_action(window, 'InputSelector')
    assert.same({ 'api', 'ui' }, { args.choices[1].id, args.choices[2].id })
  end)

  it('with the daemon down, actions notify instead of opening pickers', function()
    h.down(fake)
    ctx.client:invalidate()
    ctx.opts.now = function() return 1e9 end
    press(config, 'p', window, pane)
    assert.equal(0, #window.performed)
    assert.equal('wezparallel is down: not running', window.toasts[1].message)
    assert.equal(0, #fake.calls)
  end)

  it('dashboard opens the configured URL', function()
    local cfg = {}
    keys.apply(h.context(fake, { dashboard_url = 'http://127.0.0.1:8765/' }), cfg)
    press(cfg, 'd', window, pane)
    assert.same({ 'http://127.0.0.1:8765/' }, fake.opened)
  end)
end)
