-- A stand-in for WezTerm's `wezterm` module, for busted specs.
--
-- It records what the module under test does to WezTerm: event handlers, formatted status items,
-- child processes run (argv lists), actions performed on windows, splits, toasts and log lines.
-- `run_child_process` answers from a script set by the spec (`fake:respond(fn)`), or really runs
-- the argv through the shell (`fake:use_real_processes()`) for specs against live programs.

local json = require 'wezparallel.json'

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

local function make_action()
  return setmetatable({}, {
    __index = function(_, name)
      return function(args)
        return { action = name, args = args }
      end
    end,
  })
end

--- A new stand-in. opts.json_parse = true provides wezterm.json_parse (counting its calls).
function Fake.new(opts)
  opts = opts or {}
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
  fake.plugin = { list = function() return {} end }

  if opts.json_parse then
    function fake.json_parse(text)
      fake.json_parse_calls = fake.json_parse_calls + 1
      return json.decode(text)
    end
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

--- A pane: records splits and activation; user vars as given.
function Fake:pane(id, user_vars)
  local pane = { id = id, user_vars = user_vars or {}, splits = {}, activated = false, sent = {} }
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

--- A GUI window: records the right status, performed actions and toasts.
function Fake.window(workspace)
  local window = { workspace = workspace or 'default', right_status = nil, performed = {},
    toasts = {} }
  function window:set_right_status(text) self.right_status = text end
  function window:perform_action(action, pane)
    table.insert(self.performed, { action = action, pane = pane })
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
