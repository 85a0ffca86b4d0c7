-- Why: wrk request generator for the tracing benchmark: POST /v1/traces (OTLP/HTTP protobuf),
-- each request 10 traces x 10 spans. trace_bench.py writes the body once with 16-byte
-- placeholder trace IDs ("TRACEIDxPLACEHLD", x = 0..9); every request replaces them with IDs no
-- other request uses (16 ASCII digits: run tag, thread, counter, slot), so every trace is new.
-- Args (after `--`): body file, experiment ID, run tag (one digit, distinct per wrk run).
-- `done` prints one machine-readable line.

local template = nil
local run_tag = "1"
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(args[1], "rb"))
  template = f:read("*a")
  f:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-protobuf"
  wrk.headers["x-mlflow-experiment-id"] = args[2]
  run_tag = args[3] or "1"
end

local counter = 0

function request()
  counter = counter + 1
  local t = tonumber(tid) or 0
  local body = template:gsub("TRACEID(%d)PLACEHLD", function(slot)
    return string.format("%s%d%013d%s", run_tag, t, counter, slot)
  end)
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"err_connect":%d,"err_read":%d,'
      .. '"err_write":%d,"err_status":%d,"err_timeout":%d,"lat_p50_us":%d,"lat_p90_us":%d,'
      .. '"lat_p99_us":%d,"lat_max_us":%d,"lat_mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
