-- One fixed ~1 KB chat request: after the first, every request is a cache hit.
local filler = string.rep("Please summarise the write-ahead logging section of the SQLite manual. ", 12)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
wrk.body = '{"model":"gpt-4o","temperature":0.2,"messages":[{"role":"system","content":"You are concise."},{"role":"user","content":"' .. filler .. '"}]}'
