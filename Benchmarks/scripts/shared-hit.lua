-- The same unique requests as miss.lua (same BENCH_RUN), stopping after BENCH_LIMIT
-- answers: replayed against a second replica, each is a local miss and a shared hit.
dofile((os.getenv("BENCH_SCRIPTS") or ".") .. "/miss.lua")
local limit = tonumber(os.getenv("BENCH_LIMIT") or "1000")
local answered = 0
local misses = 0
response = function(status, headers, body)
  answered = answered + 1
  if headers["X-Cache"] ~= "HIT" and headers["x-cache"] ~= "HIT" then
    misses = misses + 1
    if misses <= 3 then io.stderr:write("shared-hit.lua: request " .. answered .. " was not a hit\n") end
  end
  if answered >= limit then wrk.thread:stop() end
end
