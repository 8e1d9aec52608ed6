-- wrk script: PATCH /api/v1/tasks/{id} (no If-Match), rotating over the seeded task ids.
-- Every request changes the priority and the description, so each one is a real update
-- (new version, FTS row update, outbox events). Titles stay as seeded.
-- Usage: wrk ... -s bench/patch.lua http://127.0.0.1:PORT -- IDS_FILE TOKEN

local thread_count = 0
function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

local ids, n, i, k, headers = {}, 0, 0, 0, nil
local priorities = { "none", "low", "medium", "high", "urgent" }

function init(args)
  local ids_file, token = args[1], args[2]
  assert(ids_file and token, "usage: -- IDS_FILE TOKEN")
  headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
  }
  for id in io.lines(ids_file) do
    if id ~= "" then
      n = n + 1
      ids[n] = id
    end
  end
  assert(n > 0, "no ids in " .. ids_file)
  i = ((tid or 0) * 499) % n
end

function request()
  i = i % n + 1
  k = k + 1
  local body = string.format('{"priority":"%s","description":"patched by wrk thread %d, request %d"}',
    priorities[k % 5 + 1], tid or 0, k)
  return wrk.format("PATCH", "/api/v1/tasks/" .. ids[i], headers, body)
end
