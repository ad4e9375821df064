-- Showing a process's WezTerm pane: its workspace first, then the pane.
--
-- `wezterm cli activate-pane` makes a pane active in its tab and window but never switches the
-- GUI's workspace, and `wezterm cli` has no verb that does; so `wezparctl attach` writes the
-- user variable `wezparallel_attach` (JSON { pane =, workspace = }) to its own terminal, and
-- the `user-var-changed` handler (events.lua) brings that pane on screen here. The picker's
-- "Focus its pane" uses the same function.

local M = {}

M.REQUEST_VAR = 'wezparallel_attach'

--- Switches `window` to `workspace` (when it shows another one) and activates pane `pane_id`.
--- Returns false when the mux has no such pane.
function M.pane(wezterm, window, pane, pane_id, workspace)
  local found, target = pcall(wezterm.mux.get_pane, tonumber(pane_id))
  if not found or not target then
    return false
  end
  if workspace and window.active_workspace and window:active_workspace() ~= workspace then
    window:perform_action(wezterm.action.SwitchToWorkspace { name = workspace }, pane)
  end
  target:activate()
  return true
end

--- Acts on the value of a `wezparallel_attach` user variable; raises on a malformed one.
function M.request(wezterm, window, pane, value)
  local ok, request = pcall(wezterm.json_parse, value)
  if not ok or type(request) ~= 'table' or request.pane == nil then
    error('malformed ' .. M.REQUEST_VAR .. ' request: ' .. tostring(value))
  end
  if not M.pane(wezterm, window, pane, request.pane, request.workspace) then
    error('attach: no pane ' .. tostring(request.pane) .. ' in this WezTerm')
  end
end

return M
