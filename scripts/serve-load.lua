-- wrk's script for loading `coffer serve` (scripts/bench_serve.py and
-- ServeLoadTests): masked GETs of LOAD_ID with the bearer token LOAD_TOKEN;
-- with LOAD_WRITES=1, one request in twenty is instead a PUT of a fresh id
-- (load/tN-M) with its own Idempotency-Key. Each thread appends the writes
-- acknowledged (id and commit, read from the answer) to LOAD_ACKED and
-- counts statuses; `done` prints `statuses 200=N 429=N …` and
-- `result REQUESTS_PER_SECOND P50_MS P99_MS SOCKET_ERRORS`.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("number", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  acked = io.open(os.getenv("LOAD_ACKED"), "a")
end

function request()
  counter = counter + 1
  local headers = { ["Authorization"] = "Bearer " .. os.getenv("LOAD_TOKEN") }
  if os.getenv("LOAD_WRITES") == "1" and counter % 20 == 0 then
    headers["Content-Type"] = "application/json"
    headers["Idempotency-Key"] = "load-" .. number .. "-" .. counter
    return wrk.format("PUT", "/v1/secrets/load/t" .. number .. "-" .. counter, headers, '{"value":"v' .. counter .. '"}')
  end
  return wrk.format("GET", "/v1/secrets/" .. os.getenv("LOAD_ID"), headers)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 200 then
    local id, commit = string.match(body, '"id":"(load/[^"]+)","commit":"(%x+)"')
    if id then
      acked:write(id .. " " .. commit .. "\n")
      acked:flush()
    end
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do total[status] = (total[status] or 0) + n end
  end
  local line = "statuses"
  for status, n in pairs(total) do line = line .. " " .. status .. "=" .. n end
  print(line)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  print(string.format("result %.1f %.3f %.3f %d", summary.requests / (summary.duration / 1e6),
                      latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
