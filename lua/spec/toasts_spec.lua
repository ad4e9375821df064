local toasts = require 'wezparallel.toasts'

local function up(processes, notices)
  return { up = true, data = { processes = processes or {}, notices = notices or {} } }
end

local function notice(at, process, message)
  return { at = at, process = process, message = message }
end

describe('toasts.news', function()
  it('takes the first status as the baseline and toasts nothing from it', function()
    local messages, state = toasts.news(toasts.initial(), up(
      { { id = 'a:claude', activity = 'waiting' } }, { notice(10.5, 'a:api', 'old') }))
    assert.same({}, messages)
    assert.equal(10.5, state.last_at)
  end)

  it('toasts each new notice once, oldest first', function()
    local _, state = toasts.news(toasts.initial(), up({}, { notice(10, 'a:api', 'old') }))
    local status = up({}, { notice(10, 'a:api', 'old'), notice(11, 'a:api', 'first'),
      notice(12, 'a:web', 'second') })
    local messages
    messages, state = toasts.news(state, status)
    assert.same({ 'a:api: first', 'a:web: second' }, messages)
    messages, state = toasts.news(state, status)
    assert.same({}, messages)
    assert.equal(12, state.last_at)
  end)

  it('toasts notices that arrive after a baseline with none', function()
    local _, state = toasts.news(toasts.initial(), up())
    local messages = toasts.news(state, up({}, { notice(5, 'a:api', 'idle: idle for 600s') }))
    assert.same({ 'a:api: idle: idle for 600s' }, messages)
  end)

  it('toasts an agent when it starts waiting, not while it stays waiting', function()
    local _, state = toasts.news(toasts.initial(), up({
      { id = 'a:one', activity = 'busy' }, { id = 'a:two', activity = 'waiting' },
      { id = 'a:web' } }))
    local messages
    messages, state = toasts.news(state, up({
      { id = 'a:one', activity = 'waiting' }, { id = 'a:two', activity = 'waiting' },
      { id = 'a:web' } }))
    assert.same({ 'a:one is waiting for you' }, messages)
    messages, state = toasts.news(state, up({ { id = 'a:one', activity = 'idle' } }))
    assert.same({}, messages)
    messages = toasts.news(state, up({ { id = 'a:one', activity = 'waiting' } }))
    assert.same({ 'a:one is waiting for you' }, messages)
  end)

  it('keeps its state while the daemon is down, so coming back is not news', function()
    local _, state = toasts.news(toasts.initial(), up({}, { notice(10, 'a:api', 'old') }))
    local messages, after = toasts.news(state, { up = false, reason = 'no answer' })
    assert.same({}, messages)
    assert.equal(state, after)
    messages = toasts.news(after, up({}, { notice(10, 'a:api', 'old') }))
    assert.same({}, messages)
  end)
end)
