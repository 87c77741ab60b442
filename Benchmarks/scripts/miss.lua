-- A different ~1 KB chat request every time: every request misses the cache.
local filler = string.rep("Please summarise the write-ahead logging section of the SQLite manual. ", 12)
local run = os.getenv("BENCH_RUN") or tostring(os.time())
local counter = 0
local model = os.getenv("BENCH_MODEL") or "gpt-4o"
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer sk-bench" }
request = function()
  counter = counter + 1
  local body = '{"model":"' .. model .. '","messages":[{"role":"user","content":"' .. run .. " " .. counter .. " " .. filler .. '"}]}'
  return wrk.format("POST", nil, headers, body)  -- the path of the URL wrk was given
end
