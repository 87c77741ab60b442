-- A different ~1 KB chat request every time: every request misses the cache.
-- BENCH_SHAPE=responses sends the same prompt as a Responses request (input items).
-- BENCH_STREAM=1 asks for a stream; BENCH_SHARE=N sends each request N times in a row,
-- so the copies that arrive while the first is in flight join it.
local filler = string.rep("Please summarise the write-ahead logging section of the SQLite manual. ", 12)
local run = os.getenv("BENCH_RUN") or tostring(os.time())
local counter = 0
local model = os.getenv("BENCH_MODEL") or "gpt-4o"
local responses = os.getenv("BENCH_SHAPE") == "responses"
local stream = os.getenv("BENCH_STREAM") == "1" and ',"stream":true' or ""
local share = tonumber(os.getenv("BENCH_SHARE") or "1")
-- Each wrk thread runs its own copy of this script: its id keeps the threads' requests apart.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer sk-bench" }
request = function()
  counter = counter + 1
  local text = run .. " " .. (id or 0) .. "." .. math.floor((counter - 1) / share) .. " " .. filler
  local body = '{"model":"' .. model .. '"' .. stream .. ',"messages":[{"role":"user","content":"' .. text .. '"}]}'
  if responses then
    body = '{"model":"' .. model .. '","input":[{"role":"user","content":[{"type":"input_text","text":"' .. text .. '"}]}]}'
  end
  return wrk.format("POST", nil, headers, body)  -- the path of the URL wrk was given
end
