-- WezTerm plugin entry point: `wezterm.plugin.require 'https://github.com/wezparallel/wezparallel'`
-- clones this repository and loads this file. The module itself lives in ../lua/; this file
-- puts that directory on package.path and returns the module, so both ways of loading it share
-- one implementation.

local function own_dir()
  -- debug.getinfo names this file when the debug library is loaded ...
  if debug and debug.getinfo then
    local source = debug.getinfo(1, 'S').source
    if type(source) == 'string' and source:sub(1, 1) == '@' then
      return source:sub(2):match('^(.*)[/\\]plugin[/\\][^/\\]*$')
    end
  end
  -- ... else WezTerm's plugin list knows where it cloned us.
  local wezterm = require 'wezterm'
  for _, plugin in ipairs(wezterm.plugin.list()) do
    if tostring(plugin.url):find('wezparallel', 1, true) then
      return plugin.plugin_dir
    end
  end
  return nil
end

local root = own_dir()
if root == nil then
  error('wezparallel: cannot find the plugin directory to load lua/wezparallel from')
end
local sep = package.config:sub(1, 1)
local lua_dir = root .. sep .. 'lua' .. sep
if not package.path:find(lua_dir, 1, true) then
  package.path = package.path .. ';' .. lua_dir .. '?.lua;' .. lua_dir .. '?' .. sep .. 'init.lua'
end

return require 'wezparallel'
