local h = require 'support.helpers'
local client = require 'wezparallel.client'
local options = require 'wezparallel.options'

local function new(fake, opts)
  return client.new(fake, options.resolve(opts))
end

describe('client.argv', function()
  it('starts with the configured command and passes --socket before the verb', function()
    local c = new(h.Fake.new(), { wezparctl = '/opt/bin/wezparctl', socket = '/tmp/wp.sock' })
    assert.same({ '/opt/bin/wezparctl', '--socket', '/tmp/wp.sock', 'status', '--json' },
      c:argv({ 'status', '--json' }))
  end)

  it('accepts an argv prefix and leaves --socket out when unset', function()
    local c = new(h.Fake.new(), { wezparctl = { 'python3', '-m', 'wezparallel.cli.ctl' } })
    assert.same({ 'python3', '-m', 'wezparallel.cli.ctl', 'reload' }, c:argv({ 'reload' }))
  end)
end)

describe('client:status', function()
  local fake, clock, c
  before_each(function()
    fake = h.Fake.new()
    clock = h.clock()
    c = new(fake, { now = clock.now })
  end)

  it('runs `wezparctl status --json` and returns the decoded document', function()
    h.daemon(fake, h.samples.FLEET)
    local result = c:status()
    assert.is_true(result.up)
    assert.equal(#h.samples.FLEET, #result.data.processes)
    assert.same({ 'wezparctl', 'status', '--json' }, fake.calls[1])
  end)

  it('treats exit 1 with JSON (something FATAL) as an answer, not as down', function()
    h.daemon(fake, { { id = 'a:b', state = 'FATAL' } })
    local result = c:status()
    assert.is_true(result.up)
    assert.equal('FATAL', result.data.processes[1].state)
  end)

  it('asks at most once per interval (default 2 s)', function()
    h.daemon(fake, h.samples.FLEET)
    c:status()
    clock.t = clock.t + 1
    c:status()
    c:status()
    assert.equal(1, #fake.calls)
    clock.t = clock.t + 1
    c:status()
    assert.equal(2, #fake.calls)
  end)

  it('reports a daemon that does not answer as down, with the reason', function()
    h.down(fake)
    local result = c:status()
    assert.is_false(result.up)
    assert.equal('wezparctl: cannot reach the daemon at /run/wp.sock', result.reason)
  end)

  it('caches down for down_interval instead of retrying every call', function()
    h.down(fake)
    for _ = 1, 5 do
      c:status()
      clock.t = clock.t + 2
    end
    assert.equal(1, #fake.calls)
    clock.t = 1000 + 10
    c:status()
    assert.equal(2, #fake.calls)
  end)

  it('is down, not an error, when wezparctl cannot be started', function()
    fake:respond(function() error('No such file or directory (os error 2)') end)
    local result = c:status()
    assert.is_false(result.up)
    assert.truthy(result.reason:find('No such file', 1, true))
  end)

  it('is down when the output is not the status document', function()
    fake:respond(function() return true, 'Usage: wezparctl [OPTIONS]', '' end)
    local result = c:status()
    assert.is_false(result.up)
    assert.equal('unexpected output from wezparctl status --json', result.reason)
  end)

  it('refreshes after invalidate(), but not sooner than min_interval', function()
    h.daemon(fake, h.samples.FLEET)
    c:status()
    c:invalidate()
    c:status()
    assert.equal(1, #fake.calls)
    clock.t = clock.t + 1
    c:status()
    assert.equal(2, #fake.calls)
    clock.t = clock.t + 1
    c:status()
    assert.equal(2, #fake.calls, 'back to the normal interval once refreshed')
  end)

  it('uses wezterm.json_parse when WezTerm provides it', function()
    fake = h.daemon(h.Fake.new({ json_parse = true }), h.samples.FLEET)
    assert.is_true(new(fake, { now = clock.now }):status().up)
    assert.equal(1, fake.json_parse_calls)
  end)

  it('falls back to the bundled decoder without wezterm.json_parse', function()
    h.daemon(fake, h.samples.FLEET)
    assert.is_nil(fake.json_parse)
    assert.equal('api:claude', c:status().data.processes[2].id)
  end)
end)

describe('the stand-in running real processes', function()
  local fake
  before_each(function()
    fake = h.Fake.new()
    fake:use_real_processes()
  end)

  it('returns stdout, stderr and success like run_child_process', function()
    local ok, out, err = fake.run_child_process({ 'sh', '-c', 'printf "a b"; printf oops >&2' })
    assert.is_true(ok)
    assert.equal('a b', out)
    assert.equal('oops', err)
    assert.is_false((fake.run_child_process({ 'sh', '-c', 'exit 3' })))
  end)

  it('passes arguments verbatim, quotes included', function()
    local _, out = fake.run_child_process({ 'printf', '%s|', "it's", 'a b', '$HOME' })
    assert.equal("it's|a b|$HOME|", out)
  end)

  it('lets the client read real JSON from a program that exits 1', function()
    local script = 'cat <<\'JSON\'\n' .. h.samples.status_json(h.samples.FLEET) .. 'JSON\nexit 1'
    local c = new(fake, { wezparctl = { 'sh', '-c', script, 'wezparctl' } })
    local result = c:status()
    assert.is_true(result.up)
    assert.equal('ui:agent', result.data.processes[7].id)
  end)

  it('reports a missing program as down', function()
    local c = new(fake, { wezparctl = '/nonexistent/wezparctl' })
    local result = c:status()
    assert.is_false(result.up)
    assert.truthy(result.reason:find('nonexistent', 1, true), result.reason)
  end)
end)
