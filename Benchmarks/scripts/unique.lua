-- A different ~1 KB chat request every time, each thread stopping after its share of
-- BENCH_REQUESTS answers: every request misses, and the run has a fixed size.
local filler = string.rep("Please summarise the write-ahead logging section of the SQLite manual. ", 12)
local threads = {}
local counter = 0
local answered = 0
local limit = 0
local id = 0

function setup(thread)
  id = id + 1
  thread:set("id", id)
  table.insert(threads, thread)
end

function init(args)
  limit = math.floor((tonumber(os.getenv("BENCH_REQUESTS")) or 1000000) / (tonumber(os.getenv("BENCH_THREADS")) or 2))
end

local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer sk-bench" }
request = function()
  counter = counter + 1
  local body = '{"model":"gpt-4o","messages":[{"role":"user","content":"rss ' .. os.getenv("BENCH_RUN") .. " " .. id .. " " .. counter .. " " .. filler .. '"}]}'
  return wrk.format("POST", nil, headers, body)
end

response = function(status, headers, body)
  answered = answered + 1
  if answered >= limit then wrk.thread:stop() end
end
