-- Loads a Prosody configuration file as Prosody 0.12 does, and prints what it sets.
--
-- usage: lua5.4 prosody_config.lua FILE
--
-- A Prosody configuration is Lua run in an environment where an assignment sets an option
-- of the current section (the global one until the first VirtualHost or Component) and
-- `VirtualHost "name"` or `Component "name" "module"` opens a section. This runs the file
-- in such an environment, refusing what Prosody refuses (a section declared twice, a
-- Component without its module given as a string), and prints one line per option:
--     section <TAB> option <TAB> value
-- where the section is "*" for the global options, a list of strings is printed as its
-- items joined by "|", a table of anything else as "<table>", and every section first
-- prints its kind as the option "@kind" (VirtualHost, or the component's module).

local path = assert(arg[1], "usage: lua5.4 prosody_config.lua FILE")

local order, options, kinds = { "*" }, { ["*"] = {} }, { ["*"] = "global" }
local current = "*"

local function open(name, kind)
    if type(name) ~= "string" or name == "" then
        error(kind .. ": a host name (a string) is needed, got " .. tostring(name), 3)
    end
    if options[name] then
        error(kind .. " " .. name .. " is declared twice", 3)
    end
    order[#order + 1] = name
    options[name], kinds[name] = {}, kind
    current = name
end

local function set_all(name)
    -- `VirtualHost "name" { option = value }`, the other spelling Prosody accepts.
    return function(table_of_options)
        for key, value in pairs(table_of_options) do
            options[name][key] = value
        end
    end
end

local env = {}
env.VirtualHost = function(name)
    open(name, "VirtualHost")
    return set_all(name)
end
env.Host = env.VirtualHost
env.Component = function(name)
    open(name, "Component")
    return function(module)
        if type(module) ~= "string" then
            error("Component " .. name .. ": its module must be a string", 2)
        end
        kinds[name] = module
        return set_all(name)
    end
end
setmetatable(env, {
    __newindex = function(_, key, value)
        options[current][key] = value
    end,
    __index = function(_, key)
        -- Prosody reads an option back from the current section, then the global one.
        local value = options[current][key]
        if value == nil then
            value = options["*"][key]
        end
        return value
    end,
})

local file = assert(io.open(path, "r"))
local text = file:read("a")
file:close()
local chunk, syntax_error = load(text, "@" .. path, "t", env)
if not chunk then
    io.stderr:write(syntax_error, "\n")
    os.exit(2)
end
local ok, run_error = pcall(chunk)
if not ok then
    io.stderr:write(tostring(run_error), "\n")
    os.exit(3)
end

local function show(value)
    if type(value) ~= "table" then
        return tostring(value)
    end
    local items = {}
    for index, item in ipairs(value) do
        if type(item) ~= "string" then
            return "<table>"
        end
        items[index] = item
    end
    for key in pairs(value) do
        if math.type(key) ~= "integer" then
            return "<table>"
        end
    end
    return table.concat(items, "|")
end

for _, name in ipairs(order) do
    print(name .. "\t@kind\t" .. kinds[name])
    local keys = {}
    for key in pairs(options[name]) do
        keys[#keys + 1] = key
    end
    table.sort(keys)
    for _, key in ipairs(keys) do
        print(name .. "\t" .. key .. "\t" .. show(options[name][key]))
    end
end
