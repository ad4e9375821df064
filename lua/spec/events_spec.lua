local h = require 'support.helpers'
local events = require 'wezparallel.events'

local Fake = h.Fake

describe('events.register', function()
  local fake, clock, ctx, window
  before_each(function()
    fake = h.daemon(Fake.new(), h.samples.FLEET)
    clock = h.clock()
    ctx = h.context(fake, { now = clock.now })
    events.register(ctx)
    window = Fake.window('api')
  end)

  it('sets the right status on update-status', function()
    fake:emit('update-status', window, fake:pane(1))
    assert.equal('wp 4 running 1 backoff 1 fatal | agents 1 busy 1 WAITING  1 idle ',
      window.right_status)
  end)

  it('names the focused managed process', function()
    fake:emit('update-status', window, fake:pane(7))
    assert.truthy(window.right_status:find('| api:web RUNNING $'), window.right_status)
  end)

  it('reads the status file once per interval however often WezTerm asks', function()
    for _ = 1, 10 do
      fake:emit('update-status', window, fake:pane(1))
    end
    assert.equal(1, ctx.client.reads)
  end)

  it('starts no process for the status bar, up or down', function()
    for i = 1, 300 do
      if i % 100 == 0 then
        h.down(fake)
      elseif i % 100 == 50 then
        h.daemon(fake, h.samples.FLEET)
      end
      fake:emit('update-status', window, fake:pane(i % 9))
      clock.t = clock.t + 1
    end
    assert.truthy(window.right_status)
    assert.equal(0, #fake.calls)
    assert.equal(0, #fake.background)
  end)

  it('shows `wezparallel: down` without raising when the daemon is down', function()
    h.down(fake)
    fake:emit('update-status', window, fake:pane(1))
    assert.equal('wezparallel: down ', window.right_status)
  end)

  it('logs a failing handler once instead of raising every second', function()
    local broken = Fake.window('api')
    function broken.set_right_status() error('window is gone') end
    for _ = 1, 3 do
      fake:emit('update-status', broken, fake:pane(1))
    end
    assert.equal(1, #fake.logs)
    assert.truthy(fake.logs[1].message:find('window is gone', 1, true))
  end)

  it("refreshes at once when the pane wrapper's user variable changes", function()
    local pane = fake:pane(1, 'api')
    fake:emit('update-status', window, pane)
    h.daemon(fake, { { id = 'api:claude', state = 'RUNNING', activity = 'waiting' } })
    clock.t = clock.t + 1
    fake:write(pane, Fake.user_var_bytes('wezparallel_state', 'running'), { window })
    assert.equal(2, fake.json_parse_calls)
    assert.equal(0, #fake.calls)
    assert.equal('wp 1 running | agents 0 busy 1 WAITING  0 idle ', window.right_status)
  end)

  it('ignores user variables of other programs', function()
    local pane = fake:pane(1, 'api')
    fake:emit('update-status', window, pane)
    clock.t = clock.t + 1
    fake:write(pane, Fake.user_var_bytes('nvim_mode', 'insert'), { window })
    assert.equal('insert', pane.user_vars.nvim_mode)
    assert.equal(1, fake.json_parse_calls)
  end)

  it('sees the variables a real pane wrapper writes, on start and on exit', function()
    local pane = fake:pane(5, 'api')
    local seen = {}
    fake.on('user-var-changed', function(_, _, name, value)
      seen[#seen + 1] = name .. '=' .. value
    end)
    fake:write(pane, h.wrapper_output('api', 'web', 'exit 4'), { window })
    assert.same({ 'wezparallel_id=api:web', 'wezparallel_workspace=api',
      'wezparallel_state=running', 'wezparallel_id=api:web', 'wezparallel_workspace=api',
      'wezparallel_state=exited', 'wezparallel_exit=4' }, seen)
    assert.equal('api:web', pane.user_vars.wezparallel_id)
    -- each change refreshes at once (a cheap read of an unchanged file), starting no process
    assert.equal(7, ctx.client.reads)
    assert.equal(1, fake.json_parse_calls)
    assert.equal(0, #fake.calls)
  end)

  it('hears nothing from a pane of a workspace the window does not show', function()
    local hidden = fake:pane(5, 'ui')
    fake:write(hidden, Fake.user_var_bytes('wezparallel_state', 'running'), { window })
    assert.equal('running', hidden.user_vars.wezparallel_state)
    assert.equal(0, fake.json_parse_calls)
  end)

  it('toasts a new notice and a newly waiting agent once, in the window that refreshed',
    function()
      fake:emit('update-status', window, fake:pane(1))
      assert.same({}, window.toasts)
      local fleet = {}
      for i, p in ipairs(h.samples.FLEET) do
        fleet[i] = p
      end
      fleet[3] = { id = 'api:review', state = 'RUNNING', activity = 'waiting' }
      h.daemon(fake, fleet, nil, { { at = 1718000100.5, process = 'api:web',
        message = 'http: GET http://127.0.0.1:3000/health: HTTP 503' } })
      clock.t = clock.t + 2
      local other = Fake.window('ui')
      fake:emit('update-status', window, fake:pane(1))
      fake:emit('update-status', other, fake:pane(1))
      assert.same({
        { title = 'wezparallel',
          message = 'api:web: http: GET http://127.0.0.1:3000/health: HTTP 503' },
        { title = 'wezparallel', message = 'api:review is waiting for you' },
      }, window.toasts)
      assert.same({}, other.toasts)
    end)

  it('shows no toasts when toasts = false', function()
    local quiet_fake = h.daemon(Fake.new(), h.samples.FLEET)
    local quiet_clock = h.clock()
    events.register(h.context(quiet_fake, { now = quiet_clock.now, toasts = false }))
    quiet_fake:emit('update-status', window, quiet_fake:pane(1))
    h.daemon(quiet_fake, h.samples.FLEET, nil, { { at = 5, process = 'api:web', message = 'x' } })
    quiet_clock.t = quiet_clock.t + 2
    quiet_fake:emit('update-status', window, quiet_fake:pane(1))
    assert.same({}, window.toasts)
    assert.equal(2, quiet_fake.json_parse_calls)
  end)

  it('registers no gui-startup handler unless start_daemon is set', function()
    assert.is_nil(fake.handlers['gui-startup'])
  end)
end)

describe('wezparctl attach of a pane in another workspace', function()
  local fake, window, caller, target
  before_each(function()
    fake = h.daemon(Fake.new(), h.samples.FLEET)
    events.register(h.context(fake, { now = h.clock().now }))
    window = Fake.window('api')
    caller = fake:pane(1, 'api')
    target = fake:pane(12, 'ui')
  end)

  local function attach_request(pane_id, workspace)
    local value = string.format('{"pane": "%s", "workspace": "%s"}', pane_id, workspace)
    fake:write(caller, Fake.user_var_bytes('wezparallel_attach', value), { window })
  end

  it('switches the window to the workspace and activates the pane', function()
    attach_request(12, 'ui')
    assert.same({ name = 'ui' }, Fake.last_action(window, 'SwitchToWorkspace'))
    assert.equal('ui', window.workspace)
    assert.is_true(target.activated)
    assert.equal(0, #fake.calls)
  end)

  it('only activates a pane of the workspace already shown', function()
    local here = fake:pane(3, 'api')
    attach_request(3, 'api')
    assert.same({}, window.performed)
    assert.is_true(here.activated)
  end)

  it('logs a request for a pane the mux does not have, once, without raising', function()
    attach_request(99, 'ui')
    attach_request(99, 'ui')
    assert.equal('api', window.workspace)
    assert.equal(1, #fake.logs)
    assert.truthy(fake.logs[1].message:find('no pane 99', 1, true))
  end)

  it('works with the status bar turned off', function()
    local quiet = Fake.new()
    events.register(h.context(quiet, { status = false }))
    local shown = quiet:pane(12, 'ui')
    quiet:write(quiet:pane(1, 'api'), Fake.user_var_bytes('wezparallel_attach',
      '{"pane": "12", "workspace": "ui"}'), { window })
    assert.equal('ui', window.workspace)
    assert.is_true(shown.activated)
    assert.equal(0, #quiet.calls)
  end)
end)

describe('starting the daemon at gui-startup', function()
  local fake
  local function setup(ping_ok)
    fake = Fake.new()
    fake:respond(function(argv)
      assert.equal('ping', argv[#argv])
      return ping_ok, ping_ok and 'pong' or '', ping_ok and '' or 'wezparctl: unreachable'
    end)
    events.register(h.context(fake, {
      start_daemon = true, socket = '/tmp/wp.sock', conf_dir = '/home/me/conf.d',
      daemon = { '/opt/bin/wezparallel', '--backend', 'wezterm' },
    }))
  end

  it('starts it in the background when ping fails', function()
    setup(false)
    fake:emit('gui-startup')
    assert.same({ { '/opt/bin/wezparallel', '--backend', 'wezterm', '--socket', '/tmp/wp.sock',
      '--conf-dir', '/home/me/conf.d' } }, fake.background)
  end)

  it('leaves a running daemon alone', function()
    setup(true)
    fake:emit('gui-startup')
    assert.same({}, fake.background)
    assert.equal(1, #fake.calls)
  end)
end)
