local json = require 'support.json'
local samples = require 'support.samples'

describe('json.decode', function()
  it('decodes nested objects, arrays and scalars', function()
    local v = json.decode(' {"a": [1, -2.5, 3e2, true, false], "b": {"c": "d"}, "e": []} ')
    assert.same({ a = { 1, -2.5, 300, true, false }, b = { c = 'd' }, e = {} }, v)
  end)

  it('turns null into an absent field, as wezterm.json_parse does', function()
    local v = json.decode('{"pane": null, "id": "ws:a"}')
    assert.is_nil(v.pane)
    assert.equal('ws:a', v.id)
  end)

  it('decodes string escapes, \\u escapes and surrogate pairs to UTF-8', function()
    local v = json.decode(
      '"tab\\tquote\\" slash\\/ nl\\n e\\u00e9 snow\\u2603 smile\\ud83d\\ude00"')
    assert.equal('tab\tquote" slash/ nl\n e\195\169 snow\226\152\131 smile\240\159\152\128', v)
  end)

  it('keeps raw UTF-8 untouched', function()
    assert.equal('café ☃', json.decode('"café ☃"'))
  end)

  it('decodes the status document wezparctl prints', function()
    local v = json.decode(samples.status_json(samples.FLEET, { 'bad key' }))
    assert.equal(#samples.FLEET, #v.processes)
    assert.equal('api:claude', v.processes[2].id)
    assert.equal('waiting', v.processes[2].activity)
    assert.equal('8', v.processes[2].pane)
    assert.is_nil(v.processes[4].pane)
    assert.equal(1718000000.25, v.processes[1].since)
    assert.equal('bad key', v.config.errors[1].message)
    assert.equal(3, v.config.errors[1].column)
  end)

  for _, case in ipairs({
    { '{"a": 1', 'expected' },
    { '{"a" 1}', "expected ':'" },
    { '[1 2]', "expected ',' or ']'" },
    { '"abc', 'unterminated string' },
    { '"a\\qb"', 'bad escape' },
    { '"\\u12"', 'bad \\u escape' },
    { '{} x', 'trailing characters' },
    { '', 'unexpected end of input' },
    { 'nul', 'unexpected character' },
    { '"a\nb"', 'control character' },
  }) do
    it('rejects ' .. string.format('%q', case[1]) .. ' naming the problem', function()
      local ok, err = pcall(json.decode, case[1])
      assert.is_false(ok)
      assert.truthy(err:find(case[2], 1, true), err)
      assert.truthy(err:find('at byte %d+'), err)
    end)
  end

  it('rejects a non-string argument', function()
    local ok, err = pcall(json.decode, nil)
    assert.is_false(ok)
    assert.truthy(err:find('expected a string', 1, true))
  end)
end)
