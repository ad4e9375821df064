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
    c = new(fake, { now = clock.now, status_file = h.status_file(fake) })
  end)

  it('reads the status file with wezterm.json_parse and starts no process', function()
    h.daemon(fake, h.samples.FLEET)
    local result = c:status()
    assert.is_true(result.up)
    assert.equal(#h.samples.FLEET, #result.data.processes)
    assert.equal('api:claude', result.data.processes[2].id)
    assert.same({}, result.data.config.errors)
    assert.equal(1, fake.json_parse_calls)
    assert.equal(0, #fake.calls)
  end)

  it('spawns no process over many refreshes, whatever the file says', function()
    local scripts = {
      function() h.daemon(fake, h.samples.FLEET) end,
      function() h.daemon(fake, { { id = 'a:b', state = 'FATAL' } }) end,
      function() h.down(fake) end,
      function() h.daemon(fake, {}, nil, nil, { up = false }) end,
      function() h.daemon(fake, h.samples.FLEET, nil, nil, { written_at = clock.t - 600 }) end,
      function() h.write_status(fake, 'garbage') end,
    }
    for i = 1, 600 do
      scripts[i % #scripts + 1]()
      c:status()
      clock.t = clock.t + 1
    end
    assert.equal(500, fake.json_parse_calls, 'every read but the 100 of a missing file decodes')
    assert.equal(0, #fake.calls, 'run_child_process was called')
  end)

  it('reads at most once per interval (default 1 s)', function()
    h.daemon(fake, h.samples.FLEET)
    c:status()
    c:status()
    assert.equal(1, fake.json_parse_calls)
    h.daemon(fake, { { id = 'a:b' } })
    clock.t = clock.t + 1
    assert.equal(1, #c:status().data.processes)
    assert.equal(2, fake.json_parse_calls)
  end)

  it('honours a longer interval', function()
    c = new(fake, { now = clock.now, status_file = h.status_file(fake), interval = 5 })
    h.daemon(fake, h.samples.FLEET)
    for _ = 1, 4 do
      c:status()
      clock.t = clock.t + 1
    end
    assert.equal(1, c.reads)
    clock.t = h.T0 + 5
    c:status()
    assert.equal(2, c.reads)
  end)

  it('reads a missing file as a daemon that is not running', function()
    h.down(fake)
    assert.same({ up = false, reason = 'not running' }, c:status())
  end)

  it('reads up: false (a clean stop) as stopped', function()
    h.daemon(fake, {}, nil, nil, { up = false })
    assert.same({ up = false, reason = 'stopped' }, c:status())
  end)

  it('reads a file older than its stale_after as a daemon not answering', function()
    h.daemon(fake, h.samples.FLEET, nil, nil, { written_at = h.T0 - 25 })
    assert.is_true(c:status().up, 'exactly stale_after old is still up')
    h.daemon(fake, h.samples.FLEET, nil, nil, { written_at = h.T0 - 31 })
    clock.t = clock.t + 1
    assert.same({ up = false, reason = 'not answering (status last written 32 s ago)' },
      c:status())
  end)

  it('takes stale_after from the file', function()
    h.daemon(fake, h.samples.FLEET, nil, nil, { written_at = h.T0 - 50, stale_after = 60 })
    assert.is_true(c:status().up)
    h.daemon(fake, h.samples.FLEET, nil, nil, { written_at = h.T0 - 50, stale_after = 40 })
    clock.t = clock.t + 1
    assert.is_false(c:status().up)
  end)

  it('decodes the file only when its text changed, and judges it again every read', function()
    h.daemon(fake, h.samples.FLEET)
    for _ = 1, 20 do
      assert.is_true(c:status().up)
      clock.t = clock.t + 1
    end
    assert.equal(20, c.reads)
    assert.equal(1, fake.json_parse_calls)
    clock.t = h.T0 + 26
    assert.is_false(c:status().up, 'time alone makes the same text stale')
    h.daemon(fake, { { id = 'a:b' } }, nil, nil, { written_at = clock.t })
    clock.t = clock.t + 1
    assert.equal(1, #c:status().data.processes)
    assert.equal(2, fake.json_parse_calls)
    h.write_status(fake, 'garbage')
    clock.t = clock.t + 1
    c:status()
    clock.t = clock.t + 1
    assert.truthy(c:status().reason:find('unreadable', 1, true))
    assert.equal(3, fake.json_parse_calls)
  end)

  it('turns down, then up again, as the daemon dies and comes back', function()
    h.daemon(fake, h.samples.FLEET)
    assert.is_true(c:status().up)
    clock.t = h.T0 + 26 -- SIGKILLed at T0: no more heartbeats
    assert.equal('not answering (status last written 26 s ago)', c:status().reason)
    h.daemon(fake, h.samples.FLEET, nil, nil, { written_at = clock.t + 0.5 })
    clock.t = clock.t + 1
    assert.is_true(c:status().up)
  end)

  for _, case in ipairs({
    { 'garbage', 'garbage', 'json: unexpected character' },
    { 'an empty file', '', 'json: unexpected end of input' },
    { 'a cut-off file', '{"daemon": {"up": true, "written_at": 1000}, "processes": [',
      'json: ' },
    { 'status --json without the daemon block', h.samples.status_json(h.samples.FLEET),
      'not a wezparallel status snapshot' },
    { 'a JSON array', '[1, 2]', 'not a wezparallel status snapshot' },
    { 'a non-numeric written_at',
      '{"daemon": {"up": true, "written_at": "now"}, "processes": []}',
      'not a wezparallel status snapshot' },
  }) do
    it('reads ' .. case[1] .. ' as down, naming the file and the problem', function()
      h.write_status(fake, case[2])
      local result = c:status()
      assert.is_false(result.up)
      local prefix = 'unreadable status file ' .. h.status_file(fake) .. ': '
      assert.equal(prefix, result.reason:sub(1, #prefix))
      assert.truthy(result.reason:find(case[3], #prefix, true), result.reason)
    end)
  end

  it('reads a status file it cannot read as down, with the reason', function()
    assert(os.execute("mkdir '" .. h.status_file(fake) .. "'"))
    local result = c:status()
    os.execute("rmdir '" .. h.status_file(fake) .. "'")
    assert.is_false(result.up)
    assert.truthy(result.reason:find('^cannot read the status file'), result.reason)
  end)

  it('reads again at once after invalidate(), or after min_interval when set', function()
    h.daemon(fake, h.samples.FLEET)
    c:status()
    c:invalidate()
    c:status()
    assert.equal(2, c.reads)
    assert.equal(1, fake.json_parse_calls, 'the same text is not decoded again')
    c = new(fake, { now = clock.now, status_file = h.status_file(fake), min_interval = 1,
      interval = 5 })
    c:status()
    c:invalidate()
    c:status()
    assert.equal(1, c.reads)
    clock.t = clock.t + 1
    c:status()
    assert.equal(2, c.reads)
    clock.t = clock.t + 1
    c:status()
    assert.equal(2, c.reads, 'back to the normal interval once refreshed')
  end)
end)

describe('client:run (actions)', function()
  it('runs wezparctl for a verb, the status file notwithstanding', function()
    local fake = h.daemon(h.Fake.new(), h.samples.FLEET)
    local c = new(fake, { status_file = h.status_file(fake), socket = '/tmp/wp.sock' })
    assert.is_true((c:run({ 'stop', 'api:web', '--no-wait' })))
    assert.same({ { 'wezparctl', '--socket', '/tmp/wp.sock', 'stop', 'api:web', '--no-wait' } },
      fake.calls)
  end)

  it('is a failure with the message, not an error, when wezparctl cannot be started', function()
    local fake = h.Fake.new()
    fake:respond(function() error('No such file or directory (os error 2)') end)
    local ok, _, stderr = new(fake, {}):run({ 'reload' })
    assert.is_false(ok)
    assert.truthy(stderr:find('No such file', 1, true))
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

  it('lets the client read a real program\'s output and exit status', function()
    local c = new(fake, { wezparctl = { 'sh', '-c', 'printf "%s" "$*"; exit 1', 'wezparctl' } })
    local ok, stdout = c:run({ 'reload', 'now' })
    assert.is_false(ok)
    assert.equal('reload now', stdout)
  end)

  it('reports a missing program as a failed action', function()
    local c = new(fake, { wezparctl = '/nonexistent/wezparctl' })
    local ok, _, stderr = c:run({ 'ping' })
    assert.is_false(ok)
    assert.truthy(stderr:find('nonexistent', 1, true), stderr)
  end)
end)
