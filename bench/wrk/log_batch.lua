-- Why: wrk request generator for bench workload 1: POST runs/log-batch with 100 metrics per request.
-- Every request uses a fresh step so each point is new. Args (after `--`): run_id, step_base.
-- The `done` callback prints one machine-readable line that bench.py parses.

local nkeys = 100
local parts = {}
local step_slots = {}
local counter = 0
local base = 0
local threads = {}

function setup(thread)
  -- becomes the global `tid` inside that thread's Lua state
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local run_id = args[1]
  base = tonumber(args[2] or "0")
  local ts = string.format("%d", os.time() * 1000)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  parts[#parts + 1] = '{"run_id":"' .. run_id .. '","metrics":['
  for i = 0, nkeys - 1 do
    local sep = (i == 0) and "" or ","
    parts[#parts + 1] = sep .. '{"key":"bm' .. i .. '","value":' .. (i * 0.5 + 0.25)
      .. ',"timestamp":' .. ts .. ',"step":'
    parts[#parts + 1] = "0"
    step_slots[#step_slots + 1] = #parts
    parts[#parts + 1] = "}"
  end
  parts[#parts + 1] = "]}"
end

function request()
  counter = counter + 1
  local s = string.format("%d", base + (tonumber(tid) or 0) * 100000000 + counter)
  for i = 1, #step_slots do
    parts[step_slots[i]] = s
  end
  return wrk.format(nil, nil, nil, table.concat(parts))
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
