-- Shared by the end-to-end specs: a stand-in wezterm whose run_child_process really runs the
-- real `wezparctl`, and a status bar reading the real daemon's status file, both named by the
-- environment (set by tests/lua/test_wezparctl_e2e.py).

local h = require 'support.helpers'

local M = {}

local function env(name)
  local value = os.getenv(name)
  assert(value and value ~= '',
    name .. ' is not set: run this through tests/lua/test_wezparctl_e2e.py')
  return value
end

--- A fresh stand-in running real processes, and a context aimed at the test's daemon (its
--- socket and status file), on the real clock.
function M.context()
  local fake = h.Fake.new()
  fake:use_real_processes()
  local ctx = h.context(fake, { wezparctl = env('WEZPARALLEL_E2E_WEZPARCTL'),
    socket = env('WEZPARALLEL_E2E_SOCKET'), status_file = env('WEZPARALLEL_E2E_STATUS_FILE'),
    now = os.time })
  return fake, ctx
end

return M
