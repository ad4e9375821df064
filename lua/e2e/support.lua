-- Shared by the end-to-end specs: a stand-in wezterm whose run_child_process really runs the
-- real `wezparctl` named by the environment (set by tests/lua/test_wezparctl_e2e.py).

local h = require 'support.helpers'

local M = {}

local function env(name)
  local value = os.getenv(name)
  assert(value and value ~= '',
    name .. ' is not set: run this through tests/lua/test_wezparctl_e2e.py')
  return value
end

--- A fresh stand-in running real processes, and a context aimed at the test's daemon socket.
function M.context()
  local fake = h.Fake.new({ json_parse = false })
  fake:use_real_processes()
  local ctx = h.context(fake, { wezparctl = env('WEZPARALLEL_E2E_WEZPARCTL'),
    socket = env('WEZPARALLEL_E2E_SOCKET') })
  return fake, ctx
end

return M
