-- A different ~1 KB chat request every time: every request misses the cache.
-- BENCH_SHAPE=responses sends the same prompt as a Responses request (input items).
local filler = string.rep("Please summarise the write-ahead logging section of the SQLite manual. ", 12)
local run = os.getenv("BENCH_RUN") or tostring(os.time())
local counter = 0
local model = os.getenv("BENCH_MODEL") or "gpt-4o"
local responses = os.getenv("BENCH_SHAPE") == "responses"
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer sk-bench" }
request = function()
  counter = counter + 1
  local text = run .. " " .. counter .. " " .. filler
  local body = '{"model":"' .. model .. '","messages":[{"role":"user","content":"' .. text .. '"}]}'
  if responses then
    body = '{"model":"' .. model .. '","input":[{"role":"user","content":[{"type":"input_text","text":"' .. text .. '"}]}]}'
  end
  return wrk.format("POST", nil, headers, body)  -- the path of the URL wrk was given
end
