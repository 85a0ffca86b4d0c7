-- Why: wrk request generator for bench workload 2: POST runs/log-metric, one point per request.
-- Every request uses a fresh step so each point is new. Args (after `--`): run_id, step_base.
-- The `done` callback prints one machine-readable line that bench.py parses.

local pre = ""
local post = "}"
local counter = 0
local base = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local run_id = args[1]
  base = tonumber(args[2] or "0")
  local ts = string.format("%d", os.time() * 1000)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  pre = '{"run_id":"' .. run_id .. '","key":"lm","value":0.5,"timestamp":' .. ts .. ',"step":'
end

function request()
  counter = counter + 1
  local s = string.format("%d", base + (tonumber(tid) or 0) * 100000000 + counter)
  return wrk.format(nil, nil, nil, pre .. s .. post)
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
