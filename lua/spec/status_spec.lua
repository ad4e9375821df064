local h = require 'support.helpers'
local json = require 'support.json'
local options = require 'wezparallel.options'
local status = require 'wezparallel.status'

local colors = options.defaults.colors

local function fleet(processes, errors)
  return json.decode(h.samples.status_json(processes or h.samples.FLEET, errors))
end

local function text_of(items)
  return h.Fake.format_text(items)
end

-- The item list of the segment whose Text is `text`, from the preceding ResetAttributes.
local function segment(items, text)
  local start = 1
  for i, item in ipairs(items) do
    if item == 'ResetAttributes' then
      start = i + 1
    elseif type(item) == 'table' and item.Text == text then
      local out = {}
      for j = start, i do
        out[#out + 1] = items[j]
      end
      return out
    end
  end
  error('no segment with text ' .. text)
end

local function has(seg, key)
  for _, item in ipairs(seg) do
    if type(item) == 'table' and item[key] ~= nil then
      return item[key]
    end
  end
  return nil
end

describe('status.summarize', function()
  it('counts processes by state and agents by activity', function()
    local s = status.summarize(fleet())
    assert.same({ RUNNING = 4, BACKOFF = 1, FATAL = 1 }, s.states)
    assert.same({ busy = 1, waiting = 1, idle = 1 }, s.activities)
    assert.equal(3, s.agents)
    assert.equal(7, s.total)
    assert.equal(0, s.config_errors)
  end)

  it('counts config errors and survives an empty fleet', function()
    local s = status.summarize(fleet({}, { 'one', 'two' }))
    assert.equal(2, s.config_errors)
    assert.equal(0, s.states.RUNNING)
    assert.equal(0, s.agents)
  end)
end)

describe('status.items', function()
  it('shows the counts in words', function()
    local items = status.items({ up = true, data = fleet() }, nil, colors)
    assert.equal('wp 4 running 1 backoff 1 fatal | agents 1 busy 1 WAITING  1 idle ',
      text_of(items))
  end)

  it('makes waiting agents stand out: bold on a background colour', function()
    local items = status.items({ up = true, data = fleet() }, nil, colors)
    local seg = segment(items, ' 1 WAITING ')
    assert.same(colors.waiting_bg, has(seg, 'Background'))
    assert.same({ Intensity = 'Bold' }, has(seg, 'Attribute'))
    assert.is_nil(has(segment(items, '1 busy'), 'Background'))
  end)

  it('colours fatal red and bold, running green', function()
    local items = status.items({ up = true, data = fleet() }, nil, colors)
    assert.same(colors.fatal, has(segment(items, ' 1 fatal'), 'Foreground'))
    assert.same({ Intensity = 'Bold' }, has(segment(items, ' 1 fatal'), 'Attribute'))
    assert.same(colors.running, has(segment(items, '4 running'), 'Foreground'))
  end)

  it('leaves out zero counts and the agents part when there are none', function()
    local data = fleet({ { id = 'a:web' }, { id = 'a:db' } })
    assert.equal('wp 2 running ', text_of(status.items({ up = true, data = data }, nil, colors)))
  end)

  it('shows config errors', function()
    local data = fleet({ { id = 'a:web' } }, { 'bad' })
    assert.equal('wp 1 running 1 config errors ',
      text_of(status.items({ up = true, data = data }, nil, colors)))
  end)

  it('says down when the daemon does not answer', function()
    local items = status.items({ up = false, reason = 'no answer' }, nil, colors)
    assert.equal('wezparallel: down ', text_of(items))
  end)

  it('appends the focused process id, state and activity', function()
    local data = fleet()
    local items = status.items({ up = true, data = data }, data.processes[3], colors)
    assert.truthy(text_of(items):find('| api:review RUNNING busy $'), text_of(items))
  end)

  it('highlights a focused agent that waits', function()
    local data = fleet()
    local items = status.items({ up = true, data = data }, data.processes[2], colors)
    assert.same(colors.waiting_bg, has(segment(items, ' RUNNING waiting '), 'Background'))
  end)
end)

describe('status.focused_process', function()
  local fake, data
  before_each(function()
    fake = h.Fake.new()
    data = fleet()
  end)

  it('finds a WezTerm-backend process by its pane id', function()
    assert.equal('api:claude', status.focused_process(data, fake:pane(8), 'wezparallel').id)
  end)

  it('does not take a tmux pane id for a WezTerm pane id', function()
    data.processes[3].pane = '9'
    assert.is_nil(status.focused_process(data, fake:pane(9), 'wezparallel'))
  end)

  it('finds any process by the wezparallel_id user variable', function()
    local pane = h.wrapped_pane(fake, 42, 'ui:agent')
    assert.equal('ui:agent', status.focused_process(data, pane, 'wezparallel').id)
  end)

  it('returns nil for an unmanaged pane, or without a pane', function()
    assert.is_nil(status.focused_process(data, fake:pane(99), 'wezparallel'))
    assert.is_nil(status.focused_process(data, nil, 'wezparallel'))
  end)
end)
