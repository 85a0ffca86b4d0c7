-- Why: wrk request generator for the gateway benchmark: POST one small OpenAI-format chat
-- completion per request. Args (after `--`): model (the endpoint), and optionally the
-- milliseconds each connection waits between requests (to hold a fixed rate).
-- The `done` callback prints one machine-readable line that gateway_bench.py parses.

local body = ""
local pause = 0

function init(args)
  local model = args[1]
  pause = tonumber(args[2] or "0")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  body = '{"model":"' .. model .. '","max_tokens":16,"messages":[{"role":"user","content":"Hello"}]}'
end

function request()
  return wrk.format(nil, nil, nil, body)
end

function delay()
  return pause
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
