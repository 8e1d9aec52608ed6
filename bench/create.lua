-- wrk script: POST /api/v1/tasks (create). Each body is different: title with a
-- per-thread counter, rotating priority, tags and an optional due date.
-- Usage: wrk ... -s bench/create.lua http://127.0.0.1:PORT -- TOKEN [TOKEN...]
-- With several tokens (users), requests rotate over them.

local thread_count = 0
function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

local k, headers, all_headers = 0, nil, {}
local priorities = { "none", "low", "medium", "high", "urgent" }
local tags = { '["bench"]', '["bench","work"]', '["bench","home","errands"]', '[]' }

function init(args)
  assert(args[1], "usage: -- TOKEN [TOKEN...]")
  for i, token in ipairs(args) do
    all_headers[i] = {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
      ["Accept"] = "application/json",
    }
  end
  headers = all_headers[1]
end

function request()
  k = k + 1
  headers = all_headers[k % #all_headers + 1]
  local due = ""
  if k % 3 == 1 then
    due = string.format(',"due":"2027-%02d-%02d"', k % 12 + 1, k % 28 + 1)
  elseif k % 3 == 2 then
    due = string.format(',"due":"2027-%02d-%02dT%02d:30","timezone":"Europe/Berlin"', k % 12 + 1, k % 28 + 1, k % 24)
  end
  local body = string.format(
    '{"title":"wrk task %d-%d","description":"created by the benchmark","priority":"%s","tags":%s%s}',
    tid or 0, k, priorities[k % 5 + 1], tags[k % 4 + 1], due)
  return wrk.format("POST", "/api/v1/tasks", headers, body)
end
