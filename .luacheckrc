-- luacheck for the WezTerm module (lua/, plugin/): `luacheck lua plugin`
std = 'lua54'
max_line_length = 100
files['lua/spec'] = { std = '+busted' }
files['lua/e2e'] = { std = '+busted' }
files['lua/bench'] = { std = '+busted' }
