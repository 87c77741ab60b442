-- Cache-hit load for the stream replay: one streaming request, always the same, so all but the first replay a recorded 200-chunk stream.
local filler = string.rep("Please summarise the write-ahead logging section of the SQLite manual. ", 12)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
wrk.body = '{"model":"gpt-4o","temperature":0.2,"stream":true,"messages":[{"role":"system","content":"You are concise."},{"role":"user","content":"' .. filler .. '"}]}'
