-- WezTerm plugin entry point: `wezterm.plugin.require 'https://github.com/wezparallel/wezparallel'`
-- clones this repository and loads this file. The module itself lives in ../lua/; this file
-- puts that directory on package.path and returns the module, so both ways of loading it share
-- one implementation. Works on every WezTerm with plugins the module supports (20230408 on).

-- How WezTerm loads this file (lua-api-crates/plugin/src/lib.rs, config/src/lua.rs):
-- `plugin.require` calls Lua's `require` with the clone's directory name, found through the
-- package.path entry `<data dir>/plugins/?/plugin/init.lua`; Lua 5.4's `require` hands the
-- file name to the chunk as its second argument.
local loaded_as, loaded_from = ...

local function root_of(file)
  if type(file) ~= 'string' then
    return nil
  end
  return file:gsub('^@', ''):match('^(.*)[/\\]plugin[/\\][^/\\]*$')
end

local function own_dir()
  local root = root_of(loaded_from)
  if root then
    return root
  end
  -- WezTerm's Lua has no `debug` library (config/src/lua.rs); a plain Lua (dofile) has.
  if debug and debug.getinfo then
    root = root_of(debug.getinfo(1, 'S').source)
    if root then
      return root
    end
  end
  -- Last: WezTerm's plugin list. `plugin_dir` exists from 20240127 on, and `list()` raises
  -- when any directory under plugins/ is not a git checkout with a remote.
  local wezterm = require 'wezterm'
  local ok, plugins = pcall(wezterm.plugin.list)
  for _, plugin in ipairs(ok and plugins or {}) do
    if plugin.plugin_dir and (tostring(plugin.url):find('wezparallel', 1, true)
        or plugin.component == loaded_as) then
      return plugin.plugin_dir
    end
  end
  return nil
end

local root = own_dir()
if root == nil then
  error('wezparallel: cannot find the plugin directory to load lua/wezparallel from; load '
    .. 'lua/wezparallel through package.path instead (see `wezparctl lua-path`)')
end
local sep = package.config:sub(1, 1)
local lua_dir = root .. sep .. 'lua' .. sep
if not package.path:find(lua_dir, 1, true) then
  package.path = package.path .. ';' .. lua_dir .. '?.lua;' .. lua_dir .. '?' .. sep .. 'init.lua'
end

return require 'wezparallel'
