-- wrk script of bench/serving.py: POST bodies read from a file (one JSON body a line), in turn, and
-- optionally paced to a fixed rate.
--
--   wrk -t T -c C -d D -s bench/_serving.lua URL -- BODIES RATE KEY THREADS RUN
--
-- BODIES   file of request bodies, one a line; "@@" in a body is replaced, on every request, by a token
--          unique to that request (RUN, thread id, sequence number), so a subject id is never repeated.
-- RATE     requests per second over all threads; 0 sends as fast as the connections allow (no delay()).
--          With RATE > 0 each thread hands out send times on a fixed schedule of RATE / THREADS a second:
--          every time one of its connections is ready to send (after its previous response), delay()
--          gives it the next free slot, so the offered rate is RATE as long as enough connections are
--          idle; a slot already past is sent at once (the schedule catches up, it does not skip).
--          wrk times each request from its first byte written to its response, so the latency of a
--          request sent late is not counted from its slot (no correction for coordinated omission).
-- KEY      API key sent as "Authorization: Bearer KEY"; "-" sends none.
-- THREADS  the -t value (to start each thread at another place in the file).
-- RUN      a token unique to this wrk run.
--
-- done() prints one line "WRKJSON {...}" with the counts, duration and latency percentiles (microseconds).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } wrk_timespec;
int clock_gettime(int clk_id, wrk_timespec *tp);
]]
local ts = ffi.new("wrk_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local next_id = 1
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

local bodies, templated, n, pos, seq, prefix, headers, interval, slot

function init(args)
  bodies, templated = {}, {}
  for line in io.lines(args[1]) do
    if #line > 0 then
      bodies[#bodies + 1] = line
      templated[#bodies] = line:find("@@", 1, true) ~= nil
    end
  end
  n = #bodies
  local rate, key, threads = tonumber(args[2]), args[3], tonumber(args[4])
  pos = math.floor(n * (id - 1) / threads)
  seq = 0
  prefix = args[5] .. "-" .. id .. "-"
  headers = { ["Content-Type"] = "application/json" }
  if key ~= "-" then
    headers["Authorization"] = "Bearer " .. key
  end
  if rate > 0 then
    interval = 1000.0 * threads / rate
    delay = function()
      local t = now_ms()
      if slot == nil then
        slot = t
      end
      local wait = slot - t
      slot = slot + interval
      if wait < 0 then
        return 0
      end
      return wait
    end
  end
end

function request()
  pos = pos % n + 1
  local body = bodies[pos]
  if templated[pos] then
    seq = seq + 1
    body = body:gsub("@@", prefix .. seq)
  end
  return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "errors_connect": %d, "errors_read": %d, ' ..
    '"errors_write": %d, "errors_status": %d, "errors_timeout": %d, "lat_mean_us": %.1f, "lat_max_us": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "p999_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.max, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end
