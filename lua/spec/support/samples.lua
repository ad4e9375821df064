-- Status JSON as `wezparctl status --json` prints it (json.dumps, indent=2, sort_keys), and
-- helpers to build variants. Kept as text so the decoders are exercised on the real shape.

local M = {}

local function process(fields)
  local p = {
    id = fields.id, workspace = fields.id:match('^([^:]+)'), name = fields.id:match(':(.*)$'),
    state = fields.state or 'RUNNING', pid = fields.pid or 4242, restarts = fields.restarts or 0,
    backend = fields.backend or 'subprocess', pane = fields.pane, activity = fields.activity,
  }
  return p
end

local function str(v)
  if v == nil then
    return 'null'
  elseif type(v) == 'number' then
    return tostring(v)
  end
  return '"' .. v .. '"'
end

local function encode_process(p)
  return table.concat({
    '    {',
    '      "activity": ' .. str(p.activity) .. ',',
    '      "activity_since": null,',
    '      "backend": ' .. str(p.backend) .. ',',
    '      "error": null,',
    '      "exit_code": null,',
    '      "id": ' .. str(p.id) .. ',',
    '      "name": ' .. str(p.name) .. ',',
    '      "pane": ' .. str(p.pane) .. ',',
    '      "pid": ' .. str(p.pid) .. ',',
    '      "restarts": ' .. str(p.restarts) .. ',',
    '      "since": 1718000000.25,',
    '      "state": ' .. str(p.state) .. ',',
    '      "workspace": ' .. str(p.workspace),
    '    }',
  }, '\n')
end

--- JSON text for a list of process field tables ({id=, state=, backend=, pane=, activity=}),
--- an optional list of config error messages and an optional list of notices ({at=, process=,
--- message=}).
function M.status_json(processes, errors, notices)
  local encoded = {}
  for i, fields in ipairs(processes) do
    encoded[i] = encode_process(process(fields))
  end
  local errs = {}
  for i, message in ipairs(errors or {}) do
    errs[i] = string.format('{"column": 3, "file": "conf.d/a.yaml", "line": %d, "message": "%s"}',
      i, message)
  end
  local told = {}
  for i, n in ipairs(notices or {}) do
    told[i] = string.format('{"at": %s, "message": "%s", "process": "%s"}', n.at, n.message,
      n.process)
  end
  return '{\n  "config": {\n    "errors": [' .. table.concat(errs, ', ') ..
    '],\n    "loaded_at": 1718000000.5\n  },\n  "notices": [' .. table.concat(told, ', ') ..
    '],\n  "processes": [\n' ..
    table.concat(encoded, ',\n') .. '\n  ]\n}\n'
end

--- The daemon's status snapshot (status.json): the `status --json` object plus its `daemon`
--- block; `daemon` overrides its fields ({ up =, written_at =, stale_after = ... }).
function M.snapshot_json(processes, errors, notices, daemon)
  local fields = { up = true, pid = 4242, written_at = 1000.5, heartbeat = 10, stale_after = 25 }
  for k, v in pairs(daemon or {}) do
    fields[k] = v
  end
  local block = string.format(
    '"daemon":{"heartbeat":%s,"pid":%d,"stale_after":%s,"up":%s,"written_at":%.6f},',
    fields.heartbeat, fields.pid, fields.stale_after, tostring(fields.up), fields.written_at)
  return (M.status_json(processes, errors, notices):gsub('^{', '{' .. block, 1))
end

--- A mixed fleet: 4 running (3 agents: busy, waiting, idle), 1 backoff, 1 fatal, 1 stopped.
M.FLEET = {
  { id = 'api:web', state = 'RUNNING', backend = 'wezterm', pane = '7' },
  { id = 'api:claude', state = 'RUNNING', backend = 'wezterm', pane = '8', activity = 'waiting' },
  { id = 'api:review', state = 'RUNNING', backend = 'tmux', pane = '%3', activity = 'busy' },
  { id = 'api:worker', state = 'BACKOFF' },
  { id = 'ui:dev', state = 'FATAL' },
  { id = 'ui:helper', state = 'STOPPED' },
  { id = 'ui:agent', state = 'RUNNING', activity = 'idle', backend = 'tmux', pane = '%4' },
}

return M
