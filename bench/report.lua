-- Each request comes from one of 10,000 client addresses (X-Forwarded-For; the shop trusts one
-- proxy hop in the benchmark, as behind the Ingress), so per-client rate limits are exercised but
-- never tripped by a single load generator. wrk reports in one machine-readable line that
-- bench/wrk.py parses; latencies are microseconds.
local counter = 0

request = function()
  counter = counter + 1
  local n = counter % 10000
  wrk.headers["X-Forwarded-For"] = string.format("198.19.%d.%d", math.floor(n / 250), n % 250 + 1)
  return wrk.format(nil)
end

done = function(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
