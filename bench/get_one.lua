-- wrk script: GET /api/v1/tasks/{id}, rotating over the seeded task ids.
-- Usage: wrk ... -s bench/get_one.lua http://127.0.0.1:PORT -- IDS_FILE TOKEN
-- Requests are pre-formatted once per thread; each thread starts at a different offset.

local thread_count = 0
function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

local reqs, n, i = {}, 0, 0

function init(args)
  local ids_file, token = args[1], args[2]
  assert(ids_file and token, "usage: -- IDS_FILE TOKEN")
  local headers = { ["Authorization"] = "Bearer " .. token, ["Accept"] = "application/json" }
  for id in io.lines(ids_file) do
    if id ~= "" then
      n = n + 1
      reqs[n] = wrk.format("GET", "/api/v1/tasks/" .. id, headers)
    end
  end
  assert(n > 0, "no ids in " .. ids_file)
  i = ((tid or 0) * 997) % n
end

function request()
  i = i % n + 1
  return reqs[i]
end
