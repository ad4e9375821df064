-- A stand-in for WezTerm's `wezterm` module, for busted specs.
--
-- It records what the module under test does to WezTerm: event handlers, formatted status items,
-- child processes run (argv lists), actions performed on windows, splits, toasts and log lines.
-- `json_parse` is always there, as in every WezTerm the module supports (20220807 on), backed by
-- the specs' own decoder (support/json.lua) and counting its calls.
-- `run_child_process` answers from a script set by the spec (`fake:respond(fn)`), or really runs
-- the argv through the shell (`fake:use_real_processes()`) for specs against live programs.
--
-- Where it follows WezTerm (github.com/wez/wezterm, 20240203-110809 tree):
-- * Action constructors reject fields their type does not have (luahelper/src/enumctor.rs
--   converts with UnknownFieldAction::Deny; fields from config/src/keyassignment.rs).
-- * User variables reach a pane only as OSC 1337 SetUserVar bytes written to its terminal
--   (`fake:write(pane, bytes)`, parsed like termwiz/src/escape/osc.rs), and `user-var-changed`
--   fires only in a window showing that pane's workspace (wezterm-gui/src/termwindow/mod.rs
--   `emit_user_var_event` checks `window_contains_pane`).
-- * SwitchToWorkspace changes the window's active workspace; `pane:activate()` does not
--   (mux/src/lib.rs `focus_pane_and_containing_tab`).
-- * `wezterm.plugin.list()` raises like lua-api-crates/plugin/src/lib.rs when a directory under
--   plugins/ is not a git checkout with a remote (`fake.plugin_dirs`, see below).
-- WezTerm's Lua has no `debug` library (config/src/lua.rs); busted needs it, so the specs that
-- load code as WezTerm does hide it themselves (see module_spec.lua).

local json = require 'support.json'

local Fake = {}

local function quote(word)
  return "'" .. tostring(word):gsub("'", "'\\''") .. "'"
end

--- Runs argv for real; returns success, stdout, stderr like wezterm.run_child_process.
function Fake.run_real(argv)
  local words = {}
  for i, w in ipairs(argv) do
    words[i] = quote(w)
  end
  local err_path = os.tmpname()
  local command = table.concat(words, ' ') .. ' 2>' .. quote(err_path) .. ' </dev/null'
  local pipe = assert(io.popen(command, 'r'))
  local stdout = pipe:read('a')
  local ok, _, code = pipe:close()
  local f = io.open(err_path, 'r')
  local stderr = f and f:read('a') or ''
  if f then
    f:close()
  end
  os.remove(err_path)
  return ok == true and code == 0, stdout, stderr
end

-- The fields of the actions the module uses (config/src/keyassignment.rs).
Fake.ACTION_FIELDS = {
  SwitchToWorkspace = { name = true, spawn = true },
  InputSelector = { action = true, title = true, choices = true, fuzzy = true, alphabet = true,
    description = true, fuzzy_description = true },
  PromptInputLine = { action = true, initial_value = true, description = true, prompt = true },
}

local function make_action()
  return setmetatable({}, {
    __index = function(_, name)
      return function(args)
        local fields = Fake.ACTION_FIELDS[name]
        for key in pairs(type(args) == 'table' and args or {}) do
          if fields and not fields[key] then
            error(string.format('`%s` is not a valid %s field.', tostring(key), name), 2)
          end
        end
        return { action = name, args = args }
      end
    end,
  })
end

local B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

--- Standard base64 with padding, as `base64` (the shell tool) writes it.
function Fake.base64_encode(text)
  local bits = text:gsub('.', function(c)
    local byte, out = c:byte(), ''
    for i = 7, 0, -1 do
      out = out .. ((byte >> i) & 1)
    end
    return out
  end)
  local padded = bits .. string.rep('0', (6 - #bits % 6) % 6)
  local out = padded:gsub('%d%d%d%d%d%d', function(six)
    local n = tonumber(six, 2)
    return B64:sub(n + 1, n + 1)
  end)
  return out .. string.rep('=', (3 - #text % 3) % 3)
end

--- The bytes a program writes to set a user var: OSC 1337 SetUserVar, BEL-terminated.
function Fake.user_var_bytes(name, value)
  return '\27]1337;SetUserVar=' .. name .. '=' .. Fake.base64_encode(value) .. '\7'
end

--- Standard base64, as termwiz decodes a SetUserVar value.
function Fake.base64_decode(text)
  local bits = text:gsub('[^' .. B64 .. ']', ''):gsub('.', function(c)
    local n = B64:find(c, 1, true) - 1
    local out = ''
    for i = 5, 0, -1 do
      out = out .. ((n >> i) & 1)
    end
    return out
  end)
  bits = bits:sub(1, #bits - #bits % 8)  -- the padding's leftover bits
  return (bits:gsub('%d%d%d%d%d%d%d%d', function(byte)
    return string.char(tonumber(byte, 2))
  end))
end

--- A new stand-in.
function Fake.new()
  local fake = {
    handlers = {}, formatted = {}, calls = {}, background = {}, logs = {}, opened = {},
    panes = {}, json_parse_calls = 0,
  }
  fake.responder = function()
    return false, '', 'no response scripted'
  end

  function fake.on(name, fn)
    fake.handlers[name] = fake.handlers[name] or {}
    table.insert(fake.handlers[name], fn)
  end

  function fake.format(items)
    table.insert(fake.formatted, items)
    return Fake.format_text(items)
  end

  function fake.run_child_process(argv)
    table.insert(fake.calls, argv)
    return fake.responder(argv)
  end

  function fake.background_child_process(argv)
    table.insert(fake.background, argv)
  end

  function fake.action_callback(fn)
    return { callback = fn }
  end

  fake.action = make_action()
  for _, level in ipairs({ 'info', 'warn', 'error' }) do
    fake['log_' .. level] = function(msg)
      table.insert(fake.logs, { level = level, message = msg })
    end
  end

  function fake.open_with(url)
    table.insert(fake.opened, url)
  end

  fake.mux = {
    get_pane = function(id)
      local pane = fake.panes[id]
      if pane == nil then
        error('pane id ' .. tostring(id) .. ' not found in mux')
      end
      return pane
    end,
  }
  -- plugins/ as WezTerm would list it: { url =, component =, plugin_dir = } entries, or
  -- { component =, broken = true } for a directory that is no git checkout with a remote.
  fake.plugin_dirs = {}
  fake.plugin = {
    list = function()
      local out = {}
      for _, dir in ipairs(fake.plugin_dirs) do
        if dir.broken then
          error('no remotes!?')
        end
        out[#out + 1] = { url = dir.url, component = dir.component, plugin_dir = dir.plugin_dir }
      end
      return out
    end,
  }

  -- WezTerm raises a Lua error on malformed JSON, as the decoder does.
  function fake.json_parse(text)
    fake.json_parse_calls = fake.json_parse_calls + 1
    return json.decode(text)
  end
  return setmetatable(fake, { __index = Fake })
end

--- Scripts run_child_process: fn(argv) returns success, stdout, stderr (or raises).
function Fake:respond(fn)
  self.responder = fn
end

--- Makes run_child_process really run its argv (through /bin/sh, stdin from /dev/null).
function Fake:use_real_processes()
  self.responder = Fake.run_real
end

--- Calls every handler registered for `name`, in order, like WezTerm's emit.
function Fake:emit(name, ...)
  for _, fn in ipairs(self.handlers[name] or {}) do
    fn(...)
  end
end

--- The Text of the last formatted status, and its items.
function Fake:last_status()
  local items = self.formatted[#self.formatted]
  return items and self.format_text(items), items
end

function Fake.format_text(items)
  local text = {}
  for _, item in ipairs(items or {}) do
    if type(item) == 'table' and item.Text then
      text[#text + 1] = item.Text
    end
  end
  return table.concat(text)
end

--- A pane in `workspace` (default 'default'): records splits and activation; its user vars
--- come only from `fake:write`.
function Fake:pane(id, workspace)
  local pane = { id = id, workspace = workspace or 'default', user_vars = {}, splits = {},
    activated = false, sent = {} }
  function pane.pane_id(p) return p.id end
  function pane.get_user_vars(p) return p.user_vars end
  function pane.split(p, args)
    table.insert(p.splits, args)
    return p
  end
  function pane.activate(p) p.activated = true end
  function pane.send_text(p, text) table.insert(p.sent, text) end
  self.panes[id] = pane
  return pane
end

--- What a program in `pane` writes to its terminal: OSC 1337 SetUserVar sequences set user vars
--- and fire `user-var-changed` in each of `windows` that shows the pane's workspace.
function Fake:write(pane, bytes, windows)
  for name, encoded in bytes:gmatch('\27%]1337;SetUserVar=([^=\7]+)=([^\7\27]*)[\7]') do
    local value = Fake.base64_decode(encoded)
    pane.user_vars[name] = value
    for _, window in ipairs(windows or {}) do
      if window.workspace == pane.workspace then
        self:emit('user-var-changed', window, pane, name, value)
      end
    end
  end
end

--- A GUI window: records the right status, performed actions and toasts.
function Fake.window(workspace)
  local window = { workspace = workspace or 'default', right_status = nil, performed = {},
    toasts = {} }
  function window:set_right_status(text) self.right_status = text end
  function window:perform_action(action, pane)
    table.insert(self.performed, { action = action, pane = pane })
    if action.action == 'SwitchToWorkspace' and action.args and action.args.name then
      self.workspace = action.args.name
    end
  end
  function window:toast_notification(title, message)
    table.insert(self.toasts, { title = title, message = message })
  end
  function window:active_workspace() return self.workspace end
  return window
end

--- The last action performed on `window`, asserting its kind.
function Fake.last_action(window, kind)
  local entry = window.performed[#window.performed]
  assert(entry, 'no action was performed')
  assert(entry.action.action == kind,
    'expected ' .. kind .. ', got ' .. tostring(entry.action.action))
  return entry.action.args, entry.pane
end

--- Simulates the user choosing `id` in the last InputSelector (or typing `id` in the last
--- PromptInputLine): runs the action's callback like WezTerm would.
function Fake.choose(window, kind, id, label)
  local args, pane = Fake.last_action(window, kind)
  if kind == 'PromptInputLine' then
    return args.action.callback(window, pane, id)
  end
  return args.action.callback(window, pane, id, label)
end

return Fake
