-- A small JSON decoder for the WezTerm stand-in's `json_parse` (fake_wezterm.lua). The module
-- itself uses `wezterm.json_parse` (WezTerm 20220807 on; the module needs 20230408 anyway), so
-- this lives with the specs. It reads what the daemon writes: objects, arrays, strings with
-- escapes (\uXXXX and surrogate pairs become UTF-8), numbers, true, false and null.
--
-- `null` decodes to nil, as `wezterm.json_parse` does, so a null field simply reads as absent.
-- Malformed input raises an error naming the byte offset; callers decide what "down" means.

local M = {}

local escapes = {
  ['"'] = '"', ['\\'] = '\\', ['/'] = '/',
  b = '\b', f = '\f', n = '\n', r = '\r', t = '\t',
}

local function fail(pos, what)
  error(string.format('json: %s at byte %d', what, pos), 0)
end

local function skip_space(text, pos)
  local _, stop = text:find('^[ \t\r\n]*', pos)
  return stop + 1
end

local function utf8_char(code)
  if utf8 and utf8.char then
    return utf8.char(code)
  end
  -- Lua 5.1/5.2 have no utf8 library: encode by hand.
  if code < 0x80 then
    return string.char(code)
  elseif code < 0x800 then
    return string.char(0xC0 + math.floor(code / 0x40), 0x80 + code % 0x40)
  elseif code < 0x10000 then
    return string.char(0xE0 + math.floor(code / 0x1000),
      0x80 + math.floor(code / 0x40) % 0x40, 0x80 + code % 0x40)
  end
  return string.char(0xF0 + math.floor(code / 0x40000), 0x80 + math.floor(code / 0x1000) % 0x40,
    0x80 + math.floor(code / 0x40) % 0x40, 0x80 + code % 0x40)
end

local function read_hex4(text, pos)
  local hex = text:sub(pos, pos + 3)
  if not hex:match('^%x%x%x%x$') then
    fail(pos, 'bad \\u escape')
  end
  return tonumber(hex, 16)
end

-- Returns the code point of a \u escape starting at `pos` (just after "\u") and the next position.
local function read_unicode(text, pos)
  local code = read_hex4(text, pos)
  if code >= 0xD800 and code <= 0xDBFF and text:sub(pos + 4, pos + 5) == '\\u' then
    local low = read_hex4(text, pos + 6)
    if low >= 0xDC00 and low <= 0xDFFF then
      return 0x10000 + (code - 0xD800) * 0x400 + (low - 0xDC00), pos + 10
    end
  end
  return code, pos + 4
end

local function read_string(text, pos)
  local parts = {}
  local i = pos + 1
  while true do
    local stop = text:find('["\\%c]', i)
    if not stop then
      fail(pos, 'unterminated string')
    end
    parts[#parts + 1] = text:sub(i, stop - 1)
    local c = text:sub(stop, stop)
    if c == '"' then
      return table.concat(parts), stop + 1
    elseif c == '\\' then
      local e = text:sub(stop + 1, stop + 1)
      if e == 'u' then
        local code
        code, i = read_unicode(text, stop + 2)
        parts[#parts + 1] = utf8_char(code)
      elseif escapes[e] then
        parts[#parts + 1] = escapes[e]
        i = stop + 2
      else
        fail(stop, 'bad escape')
      end
    else
      fail(stop, 'control character in string')
    end
  end
end

local function read_number(text, pos)
  local literal = text:match('^-?%d+%.?%d*[eE]?[-+]?%d*', pos)
  local value = literal and tonumber(literal)
  if not value then
    fail(pos, 'bad number')
  end
  return value, pos + #literal
end

local read_value

local function read_array(text, pos)
  local out, n = {}, 0
  pos = skip_space(text, pos + 1)
  if text:sub(pos, pos) == ']' then
    return out, pos + 1
  end
  while true do
    local value
    value, pos = read_value(text, pos)
    n = n + 1
    out[n] = value
    pos = skip_space(text, pos)
    local c = text:sub(pos, pos)
    if c == ']' then
      return out, pos + 1
    elseif c ~= ',' then
      fail(pos, "expected ',' or ']'")
    end
    pos = pos + 1
  end
end

local function read_object(text, pos)
  local out = {}
  pos = skip_space(text, pos + 1)
  if text:sub(pos, pos) == '}' then
    return out, pos + 1
  end
  while true do
    pos = skip_space(text, pos)
    if text:sub(pos, pos) ~= '"' then
      fail(pos, 'expected a key')
    end
    local key
    key, pos = read_string(text, pos)
    pos = skip_space(text, pos)
    if text:sub(pos, pos) ~= ':' then
      fail(pos, "expected ':'")
    end
    out[key], pos = read_value(text, pos + 1)
    pos = skip_space(text, pos)
    local c = text:sub(pos, pos)
    if c == '}' then
      return out, pos + 1
    elseif c ~= ',' then
      fail(pos, "expected ',' or '}'")
    end
    pos = pos + 1
  end
end

local literals = { ['true'] = true, ['false'] = false }

read_value = function(text, pos)
  pos = skip_space(text, pos)
  local c = text:sub(pos, pos)
  if c == '{' then
    return read_object(text, pos)
  elseif c == '[' then
    return read_array(text, pos)
  elseif c == '"' then
    return read_string(text, pos)
  elseif c == '-' or c:match('%d') then
    return read_number(text, pos)
  end
  for word, value in pairs(literals) do
    if text:sub(pos, pos + #word - 1) == word then
      return value, pos + #word
    end
  end
  if text:sub(pos, pos + 3) == 'null' then
    return nil, pos + 4
  end
  fail(pos, c == '' and 'unexpected end of input' or 'unexpected character')
end

--- Decodes one JSON document; raises on malformed input or trailing garbage.
function M.decode(text)
  if type(text) ~= 'string' then
    error('json: expected a string, got ' .. type(text), 0)
  end
  local value, pos = read_value(text, 1)
  pos = skip_space(text, pos)
  if pos <= #text then
    fail(pos, 'trailing characters')
  end
  return value
end

return M
