-- The ~1 KB request of hit.lua as a Responses request: after the first, every request is a cache hit.
local filler = string.rep("Please summarise the write-ahead logging section of the SQLite manual. ", 12)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
wrk.body = '{"model":"gpt-4o","temperature":0.2,"instructions":"You are concise.","input":[{"role":"user","content":[{"type":"input_text","text":"' .. filler .. '"}]}]}'
