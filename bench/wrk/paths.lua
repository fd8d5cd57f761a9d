-- wrk script of `npm run bench`: requests the paths listed in a file, one per line, and
-- prints the result as one JSON line for bench/lib/wrk.ts.
--
--   wrk -t T -c C -d S -s bench/wrk/paths.lua http://127.0.0.1:PORT -- <paths file> <T>
--
-- wrk runs one Lua state per thread, so a plain counter would start again at 1 in every
-- thread and all threads would ask for the same paths (the second asker of a "distinct"
-- size would get a cache HIT). setup() runs once per thread in the main state, before
-- that thread's init(), and hands each thread its own index; thread k then takes paths
-- k+1, k+1+T, k+1+2T, ...: no two threads ever ask for the same line. A file of one line
-- is the same request over and over.

local next_index = 0

function setup(thread)
  thread:set("thread_index", next_index)
  next_index = next_index + 1
end

-- Per thread (each has its own copy of these).
local paths = {}
local step = 1
local n = 0

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then paths[#paths + 1] = line end
  end
  if #paths == 0 then error("no paths in " .. args[1]) end
  step = tonumber(args[2]) or 1
end

function request()
  -- Past the end of the list it wraps around; the harness sizes the list so a run never
  -- gets there, and counts transforms on the resizers to prove it.
  local i = (thread_index + n * step) % #paths + 1
  n = n + 1
  return wrk.format(nil, paths[i])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'wrk-json {"requests":%d,"durationUs":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latencyUs":{"mean":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
