"""tiktoken on the same corpus as TokenizerSpeed, single-threaded, same output format.
Usage: python3 tiktoken_speed.py CORPUS VOCAB_DIR [seconds-per-encoding=3]"""
import json, os, sys, tempfile, time

corpus, vocab_dir = sys.argv[1], sys.argv[2]
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
# tiktoken's cache names for the two files, so it loads them offline from VOCAB_DIR.
cache = tempfile.mkdtemp(prefix="tiktoken-cache-")
for name, key in [("cl100k_base", "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"),
                  ("o200k_base", "fb374d419588a4632f3f557e76b4b70aebbca790")]:
    target = os.path.join(cache, key)
    if not os.path.exists(target):
        with open(os.path.join(vocab_dir, name + ".tiktoken"), "rb") as src, open(target, "wb") as dst:
            dst.write(src.read())
os.environ["TIKTOKEN_CACHE_DIR"] = cache
import tiktoken

texts = [json.loads(line)["text"] for line in open(corpus, encoding="utf-8") if line.strip()]
size = sum(len(t.encode("utf-8")) for t in texts)
for name in ["cl100k_base", "o200k_base"]:
    start = time.perf_counter()
    enc = tiktoken.get_encoding(name)
    load = time.perf_counter() - start
    tokens = sum(len(enc.encode_ordinary(t)) for t in texts)
    passes, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for t in texts:
            enc.encode_ordinary(t)
        passes += 1
    elapsed = time.perf_counter() - start
    print(f"tiktoken  {name}  {size * passes / elapsed / 1e6:7.2f} MB/s  {tokens} tokens  load {load * 1000:.0f} ms")
