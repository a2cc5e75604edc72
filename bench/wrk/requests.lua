-- wrk script of `make bench` (bench/measure.py): the requests come from the file named by WRK_REQUESTS, one a line:
--   METHOD <TAB> PATH <TAB> BODY (may be empty) <TAB> Header: value <TAB> Header: value ...
-- so the tokens (Authorization) and the bodies are the runner's, and each request is one of them picked at random.
-- At the end `done` prints one line, WRK_JSON {...}: counts, socket errors, answers of 400 and above (wrk's
-- "status" errors) and latency percentiles.

local lines = {}
local file = assert(io.open(os.getenv("WRK_REQUESTS"), "r"))
for line in file:lines() do
  if line ~= "" then
    local fields = {}
    for field in (line .. "\t"):gmatch("([^\t]*)\t") do
      fields[#fields + 1] = field
    end
    local headers = {}
    for i = 4, #fields do
      local name, value = fields[i]:match("^([^:]+):%s*(.*)$")
      if name then
        headers[name] = value
      end
    end
    local body = nil
    if fields[3] ~= "" then
      body = fields[3]
    end
    lines[#lines + 1] = wrk.format(fields[1], fields[2], headers, body)
  end
end
file:close()

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("number", threads)
end

function init(args)
  math.randomseed(os.time() * 1000 + (number or 0))
end

function request()
  return lines[math.random(#lines)]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"timeout": %d, "http_errors": %d, "p50_us": %.0f, "p90_us": %.0f, "p95_us": %.0f, "p99_us": %.0f, ' ..
    '"max_us": %.0f, "mean_us": %.0f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean))
end
