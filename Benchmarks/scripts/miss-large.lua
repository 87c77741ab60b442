-- A ~24 KB conversation, different every time: six long earlier turns (40 lines each)
-- and a new question whose trailing spaces `safe` removes, so compression changes one
-- text of seven. Every request misses the cache.
local run = os.getenv("BENCH_RUN") or tostring(os.time())
local counter = 0
local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer sk-bench" }
local turns = {}
for m = 1, 6 do
  local lines = {}
  for l = 1, 40 do
    lines[#lines + 1] = "Paragraph " .. m .. "." .. l .. " of the operations manual explains the write-ahead log, checkpoints and recovery."
  end
  turns[#turns + 1] = '{"role":"' .. (m % 2 == 1 and "user" or "assistant") .. '","content":"' .. table.concat(lines, "\\n") .. '"}'
end
local prefix = '{"model":"gpt-4o","messages":[' .. table.concat(turns, ",") .. ','
request = function()
  counter = counter + 1
  local body = prefix .. '{"role":"user","content":"' .. run .. " " .. counter .. ' Summarise the above.   \\n   "}]}'
  return wrk.format("POST", nil, headers, body)
end
