-- A different ~1 KB chat request every time, across threads and runs (BENCH_RUN): every
-- request misses the cache.
local filler = string.rep("Please summarise the write-ahead logging section of the SQLite manual. ", 12)
local counter = 0
local id = 0

function setup(thread)
  id = id + 1
  thread:set("id", id)
end

local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer sk-bench" }
request = function()
  counter = counter + 1
  local body = '{"model":"gpt-4o","messages":[{"role":"user","content":"rss ' .. os.getenv("BENCH_RUN") .. " " .. id .. " " .. counter .. " " .. filler .. '"}]}'
  return wrk.format("POST", nil, headers, body)
end
