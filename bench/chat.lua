-- wrk script: POST /api/v1/chat with the builtin engine, rotating over read-only
-- requests (the tasks do not change; each turn still stores a new conversation with
-- its two messages). Usage: wrk ... -s bench/chat.lua http://127.0.0.1:PORT -- TOKEN

local k, headers = 0, nil
local messages = {
  "what's due this week?",
  "show my urgent #work tasks",
  "anything overdue?",
  "find tasks about quarterly",
  "done with the unicorn rodeo",
  "help",
}

function init(args)
  local token = args[1]
  assert(token, "usage: -- TOKEN")
  headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json",
  }
end

function request()
  k = k + 1
  local body = string.format('{"message":"%s"}', messages[k % #messages + 1])
  return wrk.format("POST", "/api/v1/chat", headers, body)
end
