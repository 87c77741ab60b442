-- A different /v1/messages request every time, shaped like an agent's turn: tools, a
-- 6 KB system prompt and 12 turns of tool calls and results (about 20 KB), the same
-- prefix every time and a new last turn, so every request misses the cache and
-- prompt-cache steering does all its work (blocks, memory, counting, the splice).
local run = os.getenv("BENCH_RUN") or tostring(os.time())
local counter = 0
local headers = { ["Content-Type"] = "application/json", ["x-api-key"] = "sk-ant-bench", ["anthropic-version"] = "2023-06-01" }
local system = string.rep("You are a careful coding agent: read each file before you change it. ", 90)
local tools = '[{"name":"read","description":"' .. string.rep("Reads a file of the repository. ", 20)
  .. '","input_schema":{"type":"object","properties":{"path":{"type":"string"}}}}]'
local turns = {}
for i = 1, 12 do
  turns[#turns + 1] = '{"role":"assistant","content":[{"type":"tool_use","id":"t' .. i .. '","name":"read","input":{"path":"src/f' .. i .. '.swift"}}]}'
  turns[#turns + 1] = '{"role":"user","content":[{"type":"tool_result","tool_use_id":"t' .. i .. '","content":"'
    .. string.rep("let value" .. i .. " = compute(x, y) // line of file " .. i .. "\\n", 20) .. '"}]}'
end
local prefix = '{"model":"claude-sonnet-4-6","max_tokens":256,"tools":' .. tools .. ',"system":"' .. system
  .. '","messages":[{"role":"user","content":"Fix the failing build."},' .. table.concat(turns, ",") .. ','
request = function()
  counter = counter + 1
  local body = prefix .. '{"role":"assistant","content":"Next."},{"role":"user","content":"Step ' .. run .. ' ' .. counter .. '"}]}'
  return wrk.format("POST", nil, headers, body)
end
